using k8s;
using k8s.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace VisionPlatform.Training.Kubernetes.Tests.ClusterSetup;

/// <summary>The rendered manifest (golden files), what it leaves out, and the set-up as a host registers it.</summary>
public class RenderYamlTests
{
    [Fact]
    public void The_full_manifest_matches_the_golden_file_and_holds_no_secret_value()
    {
        using var setup = new KubernetesClusterSetup(new KubernetesExecutorOptions(), SetupHarness.Options());

        var yaml = setup.RenderYaml();

        GoldenFile.Verify("cluster-setup-full.yaml", yaml);
        yaml.Should().NotContain(SetupHarness.SecretKeyValue).And.NotContain(SetupHarness.AccessKeyValue).And.NotContain("kind: Secret");
        yaml.Should().Contain("kubectl -n training create secret generic r2-credentials --from-literal=access-key=... --from-literal=endpoint=... --from-literal=secret-key=...");
    }

    [Fact]
    public void The_default_manifest_matches_the_golden_file()
    {
        using var setup = new KubernetesClusterSetup(new KubernetesExecutorOptions(), new ClusterSetupOptions());

        GoldenFile.Verify("cluster-setup-default.yaml", setup.RenderYaml());
    }

    [Fact]
    public async Task The_manifest_holds_the_objects_ensure_creates()
    {
        using var setup = new KubernetesClusterSetup(new KubernetesExecutorOptions(), SetupHarness.Options());

        var objects = KubernetesYaml.LoadAllFromString(setup.RenderYaml());

        objects.Select(o => o.GetType()).Should().Equal(
            typeof(V1Namespace), typeof(V1ServiceAccount), typeof(V1ConfigMap), typeof(V1Role), typeof(V1RoleBinding), typeof(V1NetworkPolicy));
        var role = objects.OfType<V1Role>().Single();
        role.Rules.Select(r => $"{r.ApiGroups.Single()}:{r.Resources.Single()}:{string.Join(",", r.Verbs)}").Should().Equal(
            "batch:jobs:create,get,list,watch,patch,delete", ":pods:get,list,watch", ":pods/log:get", ":configmaps:create,get,patch,delete", ":services:create,get,delete", ":events:get,list,watch",
            "coordination.k8s.io:leases:get,create,update");

        // Applying the manifest and then running the check finds everything in place except the Secret it leaves out.
        await using var h = await SetupHarness.StartAsync();
        foreach (var o in objects)
        {
            switch (o)
            {
                case V1Namespace n: await h.Client.CoreV1.CreateNamespaceAsync(n); break;
                case V1ServiceAccount a: await h.Client.CoreV1.CreateNamespacedServiceAccountAsync(a, "training"); break;
                case V1ConfigMap c: await h.Client.CoreV1.CreateNamespacedConfigMapAsync(c, "training"); break;
                case V1Role r: await h.Client.RbacAuthorizationV1.CreateNamespacedRoleAsync(r, "training"); break;
                case V1RoleBinding b: await h.Client.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(b, "training"); break;
                case V1NetworkPolicy p: await h.Client.NetworkingV1.CreateNamespacedNetworkPolicyAsync(p, "training"); break;
            }
        }

        var report = await h.Setup.CheckClusterResourcesAsync();
        report.Resources.Where(r => r.State != ClusterResourceState.Unchanged).Select(r => $"{r.Kind}:{r.State}").Should().Equal("Secret:Missing");
    }

    [Fact]
    public async Task A_host_binds_the_set_up_from_Training_Kubernetes_ClusterSetup()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Training:Kubernetes:Namespace"] = "ml",
            ["Training:Kubernetes:ClusterSetup:ConfigMapData:api-url"] = "http://backend:8000",
            ["Training:Kubernetes:ClusterSetup:SecretData:secret-key"] = SetupHarness.SecretKeyValue,
            ["Training:Kubernetes:ClusterSetup:Backend:Name"] = "backend",
            ["Training:Kubernetes:ClusterSetup:NetworkPolicy:Enabled"] = "true",
        }).Build();
        var services = new ServiceCollection();
        services.AddTrainingExecutors(configuration.GetSection("Training")).AddKubernetes(configuration.GetSection("Training:Kubernetes"));
        await using var provider = services.BuildServiceProvider();

        var setup = provider.GetRequiredService<KubernetesClusterSetup>();
        var yaml = setup.RenderYaml();

        yaml.Should().Contain("namespace: ml").And.Contain("api-url: http://backend:8000").And.Contain("name: training-egress");
        yaml.Should().Contain("--from-literal=secret-key=...").And.NotContain(SetupHarness.SecretKeyValue);
        provider.GetRequiredService<IOptions<ClusterSetupOptions>>().Value.Backend.Name.Should().Be("backend");
    }

    [Fact]
    public void Invalid_configuration_fails_at_start_up_naming_the_key()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Training:Kubernetes:ClusterSetup:ConfigMapName"] = "Backend Config",
            ["Training:Kubernetes:ClusterSetup:Backend:Kind"] = "User",
            ["Training:Kubernetes:ClusterSetup:Backend:Name"] = "alice",
            ["Training:Kubernetes:ClusterSetup:Backend:Namespace"] = "platform",
        }).Build();
        var services = new ServiceCollection();
        services.AddTrainingExecutors(configuration.GetSection("Training")).AddKubernetes(configuration.GetSection("Training:Kubernetes"));
        using var provider = services.BuildServiceProvider();

        var error = provider.Invoking(p => p.GetRequiredService<IOptions<ClusterSetupOptions>>().Value).Should().Throw<OptionsValidationException>().Which;

        error.Failures.Should().HaveCount(2);
        error.Failures.Should().Contain(f => f.StartsWith("Training:Kubernetes:ClusterSetup:ConfigMapName: value 'Backend Config' is invalid: the name of the backend ConfigMap must be a lowercase RFC 1123 subdomain", StringComparison.Ordinal));
        error.Failures.Should().Contain(f => f.StartsWith("Training:Kubernetes:ClusterSetup:Backend:Namespace: value 'platform' is invalid: only a ServiceAccount subject has a namespace", StringComparison.Ordinal));
    }
}
