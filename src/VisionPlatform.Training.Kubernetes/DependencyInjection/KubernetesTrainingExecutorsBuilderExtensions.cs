using k8s;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VisionPlatform.Training;
using VisionPlatform.Training.Diagnostics;
using VisionPlatform.Training.Kubernetes;
using VisionPlatform.Training.Trainers;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Adds the Kubernetes executor to <c>services.AddTrainingExecutors()</c>, and <see cref="KubernetesClusterSetup"/> with its
/// <see cref="ClusterSetupOptions"/> (bound from the section's <c>ClusterSetup</c> child when a section is given).
/// </summary>
public static class KubernetesTrainingExecutorsBuilderExtensions
{
    /// <summary>Registers the Kubernetes executor with default options.</summary>
    /// <param name="builder">The builder returned by <c>AddTrainingExecutors</c>.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ITrainingExecutorsBuilder AddKubernetes(this ITrainingExecutorsBuilder builder) =>
        AddKubernetesCore(builder, KubernetesExecutorOptions.SectionName, configure: null, section: null);

    /// <summary>Registers the Kubernetes executor and configures its options in code.</summary>
    /// <param name="builder">The builder returned by <c>AddTrainingExecutors</c>.</param>
    /// <param name="configure">Configures the options.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ITrainingExecutorsBuilder AddKubernetes(this ITrainingExecutorsBuilder builder, Action<KubernetesExecutorOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return AddKubernetesCore(builder, KubernetesExecutorOptions.SectionName, o => o.Configure(configure), section: null);
    }

    /// <summary>Registers the Kubernetes executor and binds its options from configuration (usually <c>Training:Kubernetes</c>).</summary>
    /// <param name="builder">The builder returned by <c>AddTrainingExecutors</c>.</param>
    /// <param name="configuration">The configuration section; error messages name keys under its path.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ITrainingExecutorsBuilder AddKubernetes(this ITrainingExecutorsBuilder builder, IConfigurationSection configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return AddKubernetesCore(builder, configuration.Path, o => o.Bind(configuration), configuration);
    }

    /// <summary>
    /// Registers the Kubernetes executor over the host's own <see cref="IKubernetes"/> (custom handlers, exec or cloud
    /// authentication, a proxy): the executor, the run monitor and <see cref="KubernetesClusterSetup"/> use it as it is,
    /// and the SDK adds nothing that changes it (no handler, no credentials; <c>Connection</c> options do not apply). The
    /// factory runs once per service provider; the host owns the client and disposes it (the container does, when the
    /// factory resolves a registered singleton).
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddTrainingExecutors</c>.</param>
    /// <param name="clientFactory">Creates (or resolves) the client.</param>
    /// <param name="configure">Configures the options; <see langword="null"/> for the defaults.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ITrainingExecutorsBuilder AddKubernetes(this ITrainingExecutorsBuilder builder, Func<IServiceProvider, IKubernetes> clientFactory, Action<KubernetesExecutorOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(clientFactory);
        var result = AddKubernetesCore(builder, KubernetesExecutorOptions.SectionName, configure is null ? null : o => o.Configure(configure), section: null);
        UseHostClient(builder.Services, clientFactory);
        return result;
    }

    /// <summary>As <see cref="AddKubernetes(ITrainingExecutorsBuilder, IConfigurationSection)"/>, over the host's own <see cref="IKubernetes"/> (see the overload taking a factory).</summary>
    /// <param name="builder">The builder returned by <c>AddTrainingExecutors</c>.</param>
    /// <param name="configuration">The configuration section; error messages name keys under its path.</param>
    /// <param name="clientFactory">Creates (or resolves) the client.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ITrainingExecutorsBuilder AddKubernetes(this ITrainingExecutorsBuilder builder, IConfigurationSection configuration, Func<IServiceProvider, IKubernetes> clientFactory)
    {
        ArgumentNullException.ThrowIfNull(clientFactory);
        var result = AddKubernetes(builder, configuration);
        UseHostClient(builder.Services, clientFactory);
        return result;
    }

    private static void UseHostClient(IServiceCollection services, Func<IServiceProvider, IKubernetes> clientFactory) =>
        services.Replace(ServiceDescriptor.Singleton(sp => new HostKubernetesClient(clientFactory(sp))));

    private static ITrainingExecutorsBuilder AddKubernetesCore(
        ITrainingExecutorsBuilder builder,
        string sectionPath,
        Action<OptionsBuilder<KubernetesExecutorOptions>>? configure,
        IConfigurationSection? section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = services.AddOptions<KubernetesExecutorOptions>();
        configure?.Invoke(options);
        var firstCall = !services.Any(d => d.ServiceType == typeof(TrainingJobSpecBuilder));
        ClusterSetupRegistration.Add(services, sectionPath, section, firstCall);
        if (!firstCall)
        {
            // Second call: only the extra configuration above applies.
            return builder;
        }

        options.ValidateOnStart();
        services.AddSingleton<IValidateOptions<KubernetesExecutorOptions>>(new KubernetesExecutorOptionsValidator(sectionPath));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new TrainingJobSpecBuilder(
            sp.GetRequiredService<IOptions<KubernetesExecutorOptions>>().Value,
            sp.GetRequiredService<ITrainerContract>(),
            sp.GetService<IOptions<TrainingOptions>>()?.Value.Trainer,
            sp.GetService<VisionPlatform.Training.Storage.IArtifactStore>()));
        // The run monitor: one list + watch for Jobs and pods, whose cache serves the executor's reads (Training:Kubernetes:Monitor).
        services.TryAddSingleton(sp => new KubernetesRunMonitor(
            sp.GetRequiredService<IOptions<KubernetesExecutorOptions>>().Value,
            sp.GetService<ITrainingEventPublisher>(),
            sp.GetService<TrainingCostCalculator>(),
            sp.GetService<TimeProvider>(),
            sp.GetService<ILogger<KubernetesRunMonitor>>(),
            sp.GetService<HostKubernetesClient>() is { } host ? host.Connect : null)
        {
            Metrics = sp.GetService<TrainingMetrics>(),
            LogArchive = sp.GetService<VisionPlatform.Training.Storage.IRunLogArchive>(),
        });
        services.AddHostedService(sp => sp.GetRequiredService<KubernetesRunMonitor>());
        builder.AddExecutor(KubernetesExecutorInfo.ExecutorName, sp => sp.GetService<HostKubernetesClient>() is { } host
            ? new KubernetesTrainingExecutor(
                host.Connect(),
                sp.GetRequiredService<TrainingJobSpecBuilder>(),
                sp.GetService<TimeProvider>(),
                sp.GetService<ILogger<KubernetesTrainingExecutor>>(),
                sp.GetService<TrainingCostCalculator>())
            {
                Monitor = sp.GetRequiredService<KubernetesRunMonitor>(),
                LogArchive = sp.GetService<VisionPlatform.Training.Storage.IRunLogArchive>(),
            }
            : new KubernetesTrainingExecutor(
                sp.GetRequiredService<TrainingJobSpecBuilder>(),
                sp.GetService<TimeProvider>(),
                sp.GetService<ILogger<KubernetesTrainingExecutor>>(),
                sp.GetService<TrainingMetrics>(),
                sp.GetService<TrainingCostCalculator>())
            {
                Monitor = sp.GetRequiredService<KubernetesRunMonitor>(),
                LogArchive = sp.GetService<VisionPlatform.Training.Storage.IRunLogArchive>(),
            });
        return builder;
    }
}
