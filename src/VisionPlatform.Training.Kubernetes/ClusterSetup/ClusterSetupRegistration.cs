using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VisionPlatform.Training.Storage;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Registers <see cref="KubernetesClusterSetup"/> and its options (<c>&lt;Kubernetes section&gt;:ClusterSetup</c>, validated
/// at start-up) for <c>AddKubernetes</c>. The set-up connects like the executor but with its own client, created on first use.
/// </summary>
internal static class ClusterSetupRegistration
{
    public static void Add(IServiceCollection services, string kubernetesSectionPath, IConfigurationSection? kubernetesSection, bool firstCall)
    {
        var options = services.AddOptions<ClusterSetupOptions>();
        if (kubernetesSection is not null)
        {
            options.Bind(kubernetesSection.GetSection("ClusterSetup"));
        }

        if (!firstCall)
        {
            return;
        }

        options.ValidateOnStart();
        var sectionPath = $"{kubernetesSectionPath}:ClusterSetup";
        services.AddSingleton<IValidateOptions<ClusterSetupOptions>>(new ClusterSetupOptionsValidator(sectionPath));
        // Errors and Skipped hints name the keys of the section the host actually bound. With a host-supplied client
        // (AddKubernetes clientFactory) the set-up talks through it too.
        services.TryAddSingleton(sp => sp.GetService<HostKubernetesClient>() is { } host
            ? new KubernetesClusterSetup(
                host.Client,
                sp.GetRequiredService<IOptions<KubernetesExecutorOptions>>().Value,
                sp.GetRequiredService<IOptions<ClusterSetupOptions>>().Value,
                sp.GetService<ArtifactStorageConnection>(),
                sp.GetService<ILogger<KubernetesClusterSetup>>())
            {
                SectionPath = sectionPath,
            }
            : new KubernetesClusterSetup(
                sp.GetRequiredService<IOptions<KubernetesExecutorOptions>>().Value,
                sp.GetRequiredService<IOptions<ClusterSetupOptions>>().Value,
                sp.GetService<ArtifactStorageConnection>(),
                sp.GetService<TimeProvider>(),
                sp.GetService<ILogger<KubernetesClusterSetup>>())
            {
                SectionPath = sectionPath,
            });
    }
}
