using System.Text;
using k8s;
using k8s.Models;

namespace VisionPlatform.Training.Kubernetes.Tests.ClusterSetup;

/// <summary>CheckClusterResourcesAsync: a drift report that never writes (checked through the cluster's request log).</summary>
public class CheckClusterResourcesTests
{
    private const string Ns = "training";

    [Fact]
    public async Task On_a_fresh_cluster_everything_is_missing_and_nothing_is_written()
    {
        await using var h = await SetupHarness.StartAsync();

        var report = await h.Setup.CheckClusterResourcesAsync();

        report.Resources.Should().HaveCount(7).And.OnlyContain(r => r.State == ClusterResourceState.Missing);
        report.IsInSync.Should().BeFalse();
        h.Writes().Should().BeEmpty();
        h.Cluster.Requests.Entries.Should().OnlyContain(e => e.Verb == "get");
        (await h.Client.CoreV1.ListNamespaceAsync()).Items.Should().NotContain(n => n.Metadata.Name == Ns);
    }

    [Fact]
    public async Task After_ensure_everything_is_unchanged()
    {
        await using var h = await SetupHarness.StartAsync();
        await h.Setup.EnsureClusterResourcesAsync();
        h.Cluster.Requests.Clear();

        var report = await h.Setup.CheckClusterResourcesAsync();

        report.Resources.Should().OnlyContain(r => r.State == ClusterResourceState.Unchanged);
        report.IsInSync.Should().BeTrue();
        h.Writes().Should().BeEmpty();
    }

    [Fact]
    public async Task Drift_is_reported_by_field_without_values_and_without_writes()
    {
        await using var h = await SetupHarness.StartAsync();
        await h.Setup.EnsureClusterResourcesAsync();
        var role = await h.Client.RbacAuthorizationV1.ReadNamespacedRoleAsync("training-executor", Ns);
        role.Rules.RemoveAt(2);
        await h.Client.RbacAuthorizationV1.ReplaceNamespacedRoleAsync(role, "training-executor", Ns);
        var config = await h.Client.CoreV1.ReadNamespacedConfigMapAsync("backend-config", Ns);
        config.Data["api-url"] = "http://elsewhere:8000";
        config.Data["extra"] = "x";
        await h.Client.CoreV1.ReplaceNamespacedConfigMapAsync(config, "backend-config", Ns);
        var secret = await h.Client.CoreV1.ReadNamespacedSecretAsync("r2-credentials", Ns);
        secret.Data["secret-key"] = Encoding.UTF8.GetBytes("rotated-by-hand");
        await h.Client.CoreV1.ReplaceNamespacedSecretAsync(secret, "r2-credentials", Ns);
        var account = await h.Client.CoreV1.ReadNamespacedServiceAccountAsync("training-job", Ns);
        account.AutomountServiceAccountToken = true;
        await h.Client.CoreV1.ReplaceNamespacedServiceAccountAsync(account, "training-job", Ns);
        var policy = await h.Client.NetworkingV1.ReadNamespacedNetworkPolicyAsync("training-egress", Ns);
        policy.Spec.Egress.Add(new V1NetworkPolicyEgressRule { Ports = [new V1NetworkPolicyPort { Protocol = "TCP", Port = 8000 }] });
        await h.Client.NetworkingV1.ReplaceNamespacedNetworkPolicyAsync(policy, "training-egress", Ns);
        await h.Client.RbacAuthorizationV1.DeleteNamespacedRoleBindingAsync("training-executor", Ns);
        h.Cluster.Requests.Clear();

        var report = await h.Setup.CheckClusterResourcesAsync();

        report.Resources.Select(r => r.ToString().Split(" - ")[0]).Should().Equal(
            "Namespace training: Unchanged",
            "ServiceAccount training/training-job: Different (automountServiceAccountToken)",
            "Secret training/r2-credentials: Different (data[secret-key])",
            "ConfigMap training/backend-config: Different (data[api-url], data[extra])",
            "Role training/training-executor: Different (rules)",
            "RoleBinding training/training-executor: Missing",
            "NetworkPolicy training/training-egress: Different (spec.egress)");
        h.Writes().Should().BeEmpty("a check never writes");
        report.ToString().Should().NotContain(SetupHarness.SecretKeyValue).And.NotContain("rotated-by-hand");
        h.Logger.AllText.Should().NotContain(SetupHarness.SecretKeyValue).And.NotContain("rotated-by-hand");
        h.Logger.Entries.Should().Contain(e => e.Id.Id == 4504 && e.Text.Contains("data[secret-key]"));
    }

    [Fact]
    public async Task Objects_the_SDK_did_not_create_are_reported_as_conflicts()
    {
        await using var h = await SetupHarness.StartAsync(c => c.Namespaces.Add(Ns));
        await h.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap
        {
            Metadata = new V1ObjectMeta { Name = "backend-config" },
            Data = new Dictionary<string, string> { ["api-url"] = "http://backend.platform.svc:8000" },
        }, Ns);
        h.Cluster.Requests.Clear();

        var report = await h.Setup.CheckClusterResourcesAsync();

        report.Find("Namespace", Ns)!.State.Should().Be(ClusterResourceState.Unchanged);
        report.Find("ConfigMap", "backend-config")!.State.Should().Be(ClusterResourceState.Conflict);
        report.Find("ConfigMap", "backend-config")!.Message.Should().Contain(KubernetesLabels.ManagedBy);
        report.HasConflicts.Should().BeTrue();
        h.Writes().Should().BeEmpty();
    }
}
