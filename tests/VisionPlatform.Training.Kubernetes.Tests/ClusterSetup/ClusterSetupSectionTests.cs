using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace VisionPlatform.Training.Kubernetes.Tests.ClusterSetup;

/// <summary>
/// A host may bind the Kubernetes options from any section: the set-up's own errors and its "how to enable" hints then name
/// the keys under that section, not the default <c>Training:Kubernetes:ClusterSetup</c>.
/// </summary>
public class ClusterSetupSectionTests
{
    [Fact]
    public void Errors_and_skipped_hints_name_the_section_the_host_bound()
    {
        using var provider = Provider("Backend:Cluster");
        var setup = provider.GetRequiredService<KubernetesClusterSetup>();

        var yaml = setup.RenderYaml();
        yaml.Should().Contain("set Backend:Cluster:ClusterSetup:Backend:Name")
            .And.Contain("set Backend:Cluster:ClusterSetup:NetworkPolicy:Enabled")
            .And.Contain("set Backend:Cluster:ClusterSetup:ConfigMapData:<key>")
            .And.NotContain("Training:Kubernetes:ClusterSetup");

        var bad = new ClusterSetupOptions { SecretName = "R2_Credentials", BackendRoleName = "" };
        var error = setup.Invoking(s => s.RenderYaml(bad)).Should().Throw<TrainingValidationException>().Which;
        error.Errors.Select(e => e.Field).Should().BeEquivalentTo(
            "Backend:Cluster:ClusterSetup:SecretName",
            "Backend:Cluster:ClusterSetup:BackendRoleName");
        error.Message.Should().NotContain("Training:Kubernetes:ClusterSetup");
    }

    [Fact]
    public async Task A_call_with_invalid_options_names_the_bound_section_before_any_request()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            // Nothing listens here: a request would fail with "cannot be reached", not a validation error.
            ["Ops:K8s:Connection:Host"] = "http://127.0.0.1:1",
        }).Build();
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o => o.DefaultExecutor = KubernetesExecutorInfo.ExecutorName).AddKubernetes(configuration.GetSection("Ops:K8s"));
        using var provider = services.BuildServiceProvider();
        var setup = provider.GetRequiredService<KubernetesClusterSetup>();

        var act = () => setup.CheckClusterResourcesAsync(new ClusterSetupOptions { ConfigMapName = "Backend Config" });

        (await act.Should().ThrowAsync<TrainingValidationException>()).Which.Errors.Single().Field.Should().Be("Ops:K8s:ClusterSetup:ConfigMapName");
    }

    [Fact]
    public void A_set_up_constructed_by_hand_names_the_default_section()
    {
        using var setup = new KubernetesClusterSetup(new KubernetesExecutorOptions());

        setup.RenderYaml().Should().Contain("set Training:Kubernetes:ClusterSetup:Backend:Name");
        setup.Invoking(s => s.RenderYaml(new ClusterSetupOptions { SecretName = "Bad_Name" })).Should().Throw<TrainingValidationException>()
            .Which.Errors.Single().Field.Should().Be("Training:Kubernetes:ClusterSetup:SecretName");
    }

    private static ServiceProvider Provider(string section)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"{section}:Namespace"] = "ml",
        }).Build();
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o => o.DefaultExecutor = KubernetesExecutorInfo.ExecutorName).AddKubernetes(configuration.GetSection(section));
        return services.BuildServiceProvider();
    }
}
