using k8s;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.EndToEnd;

public class GroupTests
{
    private static Task<WorkloadCluster> StartAsync(Action<KubernetesTestClusterOptions>? configure = null) =>
        WorkloadCluster.StartAsync(o =>
        {
            o.Workloads.Images[GroupCluster.PythonImage] = ImageMapping.Passthrough;
            configure?.Invoke(o);
        });

    [Fact]
    public async Task Pods_of_an_indexed_job_with_a_headless_service_resolve_each_other_by_name_and_get_their_own_address()
    {
        await using var env = await StartAsync();
        await env.Client.CoreV1.CreateNamespacedServiceAsync(GroupCluster.HeadlessService("peers", "dns", publishNotReadyAddresses: true), WorkloadCluster.Namespace);
        var port = GroupCluster.FreePort();
        await env.CreateAsync(GroupCluster.IndexedJob("dns", 2, "peers", [GroupCluster.Python, "-c", GroupCluster.HandshakeScript],
            GroupCluster.HandshakeEnv("dns", "peers", 2, port)));

        await env.WaitForJobAsync("dns", j => j.Status?.Conditions?.Any(c => c.Type == "Complete") == true, seconds: 120);

        var pods = (await env.PodsOfAsync("dns")).OrderBy(p => p.Metadata.Labels["batch.kubernetes.io/job-completion-index"], StringComparer.Ordinal).ToList();
        pods.Should().HaveCount(2);
        var ips = pods.Select(p => p.Status.PodIP).ToList();
        ips.Should().OnlyHaveUniqueItems().And.AllSatisfy(ip => ip.Should().StartWith("127."));
        for (var i = 0; i < 2; i++)
        {
            var peer = 1 - i;
            (await env.ReadLogAsync(pods[i].Metadata.Name)).Trim().Should().Be(
                $"host=dns-{i} fqdn=dns-{i}.peers.ml.svc.cluster.local me={ips[i]} dns-{peer}.peers={ips[peer]}");
        }
    }

    [Fact]
    public async Task A_real_two_pod_torch_group_forms_through_the_rank_0_name_and_all_reduces()
    {
        await using var env = await StartAsync();
        var directory = Directory.CreateTempSubdirectory("torch-group-");
        try
        {
            var script = Path.Combine(directory.FullName, "ddp.py");
            await File.WriteAllTextAsync(script, GroupCluster.DdpScript);
            await env.Client.CoreV1.CreateNamespacedServiceAsync(GroupCluster.HeadlessService("tg", "torch", publishNotReadyAddresses: true), WorkloadCluster.Namespace);
            var port = GroupCluster.FreePort();
            await env.CreateAsync(GroupCluster.IndexedJob("torch", 2, "tg",
            [
                GroupCluster.Python, "-m", "torch.distributed.run", "-r", "2", "-t", "2", "--nnodes", "2", "--nproc_per_node", "1",
                "--node_rank", "$(JOB_COMPLETION_INDEX)", "--master_addr", "torch-0.tg", "--master_port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), script,
            ]));

            var job = await env.WaitForJobAsync("torch", j => j.Status?.Conditions?.Any(c => c.Type is "Complete" or "Failed") == true, seconds: 240);

            job.Status.Conditions.Should().Contain(c => c.Type == "Complete", await env.DescribePodsAsync());
            foreach (var pod in await env.PodsOfAsync("torch"))
            {
                var index = int.Parse(pod.Metadata.Labels["batch.kubernetes.io/job-completion-index"], System.Globalization.CultureInfo.InvariantCulture);
                var log = await env.ReadLogAsync(pod.Metadata.Name);
                log.Should().Contain($"rank={index} world=2 sum=3 master=torch-0.tg host=torch-{index}");
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
