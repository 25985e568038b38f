using k8s;
using k8s.Models;
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
                "--node_rank", "$(JOB_COMPLETION_INDEX)", "--master_addr", "torch-0.tg", "--master_port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                // Without --log_dir torchrun leaves a /tmp/torchelastic_* directory behind on every run.
                "--log_dir", Path.Combine(directory.FullName, "torchrun-$(JOB_COMPLETION_INDEX)"), script,
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

    [Fact]
    public async Task With_publish_not_ready_addresses_unready_pods_resolve_each_other_and_their_endpoints_are_ready()
    {
        await using var env = await StartAsync();
        var directory = Directory.CreateTempSubdirectory("group-gate-");
        try
        {
            var finish = Path.Combine(directory.FullName, "finish");
            await env.Client.CoreV1.CreateNamespacedServiceAsync(GroupCluster.HeadlessService("early", "unready", publishNotReadyAddresses: true), WorkloadCluster.Namespace);
            var environment = GroupCluster.HandshakeEnv("unready", "early", 2, GroupCluster.FreePort());
            environment["GROUP_FINISH_FILE"] = finish;
            await env.CreateAsync(GroupCluster.IndexedJob("unready", 2, "early", [GroupCluster.Python, "-c", GroupCluster.HandshakeScript], environment,
                s => s.Template.Spec.Containers[0].ReadinessProbe = new V1Probe { Exec = new V1ExecAction { Command = ["/bin/false"] } }));

            // both handshakes finish while neither pod can ever be Ready
            await env.WaitUntilAsync(async () => (await LogsAsync(env, "unready")).Count(l => l.StartsWith("host=", StringComparison.Ordinal)) == 2, "both pods resolved and reached each other");
            var pods = await env.PodsOfAsync("unready");
            pods.Should().HaveCount(2).And.AllSatisfy(p =>
            {
                p.Status.Phase.Should().Be("Running");
                p.Status.Conditions.Should().ContainSingle(c => c.Type == "Ready").Which.Status.Should().Be("False");
                p.Status.ContainerStatuses[0].Ready.Should().BeFalse();
            });
            var slice = (await env.Client.DiscoveryV1.ListNamespacedEndpointSliceAsync(WorkloadCluster.Namespace, labelSelector: "kubernetes.io/service-name=early")).Items.Should().ContainSingle().Subject;
            slice.AddressType.Should().Be("IPv4");
            slice.Metadata.OwnerReferences.Should().ContainSingle(r => r.Kind == "Service" && r.Name == "early" && r.Controller == true);
            slice.Endpoints.Select(e => (e.Hostname, e.Addresses.Single(), e.Conditions.Ready)).Should().BeEquivalentTo(
                pods.Select(p => ($"unready-{p.Metadata.Labels["batch.kubernetes.io/job-completion-index"]}", p.Status.PodIP, (bool?)true)));

            await File.WriteAllTextAsync(finish, "done");
            await env.WaitForJobAsync("unready", j => j.Status?.Conditions?.Any(c => c.Type == "Complete") == true);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Without_publish_not_ready_addresses_a_pod_name_resolves_only_once_the_pod_is_ready()
    {
        await using var env = await StartAsync();
        var directory = Directory.CreateTempSubdirectory("group-ready-");
        try
        {
            await env.Client.CoreV1.CreateNamespacedServiceAsync(GroupCluster.HeadlessService("late", "gated", publishNotReadyAddresses: false), WorkloadCluster.Namespace);
            var environment = GroupCluster.HandshakeEnv("gated", "late", 2, GroupCluster.FreePort());
            environment["GROUP_EXPECT_UNRESOLVED"] = "1";
            environment["READY_DIR"] = directory.FullName;
            await env.CreateAsync(GroupCluster.IndexedJob("gated", 2, "late", [GroupCluster.Python, "-c", GroupCluster.HandshakeScript], environment,
                s => s.Template.Spec.Containers[0].ReadinessProbe = new V1Probe
                {
                    Exec = new V1ExecAction { Command = ["/usr/bin/test", "-e", "$(READY_DIR)/ready-$(JOB_COMPLETION_INDEX)"] },
                }));

            await env.WaitUntilAsync(async () => (await LogsAsync(env, "gated")).Count(l => l.StartsWith("not-yet-resolvable", StringComparison.Ordinal)) == 2, "both pods looked up their peer before it was ready");
            var slice = (await env.Client.DiscoveryV1.ListNamespacedEndpointSliceAsync(WorkloadCluster.Namespace, labelSelector: "kubernetes.io/service-name=late")).Items.Single();
            slice.Endpoints.Should().HaveCount(2).And.AllSatisfy(e => e.Conditions.Ready.Should().BeFalse());

            await File.WriteAllTextAsync(Path.Combine(directory.FullName, "ready-0"), "");
            await File.WriteAllTextAsync(Path.Combine(directory.FullName, "ready-1"), "");

            await env.WaitForJobAsync("gated", j => j.Status?.Conditions?.Any(c => c.Type == "Complete") == true, seconds: 120);
            var logs = await LogsAsync(env, "gated");
            logs.Should().NotContain(l => l.StartsWith("resolvable-too-early", StringComparison.Ordinal));
            logs.Should().Contain(l => l.StartsWith("host=gated-0 ", StringComparison.Ordinal)).And.Contain(l => l.StartsWith("host=gated-1 ", StringComparison.Ordinal));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static async Task<List<string>> LogsAsync(WorkloadCluster env, string job)
    {
        var lines = new List<string>();
        foreach (var pod in await env.PodsOfAsync(job))
        {
            if (pod.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Waiting is null && pod.Status?.ContainerStatuses is { Count: > 0 })
            {
                lines.AddRange((await env.ReadLogAsync(pod.Metadata.Name)).Split('\n', StringSplitOptions.RemoveEmptyEntries));
            }
        }

        return lines;
    }
}
