using System.Text.Json.Nodes;
using k8s;
using static VisionPlatform.Training.Kubernetes.TestCluster.Tests.Admission.AdmissionFixture;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Admission;

/// <summary>kubectl's typed <c>create quota</c> (a protobuf body) makes a quota the cluster enforces and reports.</summary>
public sealed class KubectlQuotaTests(AdmissionFixture fixture) : IClassFixture<AdmissionFixture>, IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("vp-kubectl-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    [Fact]
    public async Task Kubectl_create_quota_is_enforced_and_its_usage_shows_in_kubectl_get()
    {
        var ns = await fixture.NewNamespaceAsync();

        (await Kubectl("create", "quota", "gpu", "-n", ns, "--hard=requests.nvidia.com/gpu=1,pods=2")).Should().Be("resourcequota/gpu created");
        await fixture.Client.CoreV1.CreateNamespacedPodAsync(Pod("g1", s => s.Containers[0].Resources = Limits(("nvidia.com/gpu", "1"))), ns);
        var (code, status) = await RefusalAsync(() => fixture.Client.CoreV1.CreateNamespacedPodAsync(
            Pod("g2", s => s.Containers[0].Resources = Limits(("nvidia.com/gpu", "1"))), ns));

        code.Should().Be(403);
        status["message"]!.ToString().Should().Be(
            "pods \"g2\" is forbidden: exceeded quota: gpu, requested: requests.nvidia.com/gpu=1, used: requests.nvidia.com/gpu=1, limited: requests.nvidia.com/gpu=1");
        var used = await EventuallyAsync(
            async () => JsonNode.Parse(await Kubectl("get", "quota", "gpu", "-n", ns, "-o", "json"))!["status"]?["used"]?.ToJsonString(),
            u => u == "{\"pods\":\"1\",\"requests.nvidia.com/gpu\":\"1\"}");
        used.Should().NotBeNull();
    }

    private Task<string> Kubectl(params string[] arguments) => TestSupport.Kubectl.RunAsync(fixture.Cluster.WriteKubeconfig(), _home, arguments);
}
