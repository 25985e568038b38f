using k8s;
using k8s.Models;
using VisionPlatform.Training.Kubernetes.TestCluster.Scheduling;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.EndToEnd;

public class IndexedAndNodeTests
{
    [Fact]
    public async Task Indexed_pods_get_their_index_hostname_and_environment_from_secrets_and_fields()
    {
        await using var env = await WorkloadCluster.StartAsync(o => o.Workloads.Images["busybox:1.36"] = ImageMapping.Passthrough);
        await env.Client.CoreV1.CreateNamespacedSecretAsync(
            new V1Secret { Metadata = new V1ObjectMeta { Name = "r2-credentials" }, StringData = new Dictionary<string, string> { ["endpoint"] = "http://r2.local" } },
            WorkloadCluster.Namespace);
        var job = new V1Job
        {
            Metadata = new V1ObjectMeta { Name = "idx" },
            Spec = new V1JobSpec
            {
                CompletionMode = "Indexed",
                Completions = 2,
                Parallelism = 2,
                Template = new V1PodTemplateSpec
                {
                    Spec = new V1PodSpec
                    {
                        RestartPolicy = "Never",
                        Containers =
                        [
                            new V1Container
                            {
                                Name = "trainer",
                                Image = "busybox:1.36",
                                Command = ["/bin/sh", "-c", "echo index=$JOB_COMPLETION_INDEX host=$HOSTNAME pod=$POD endpoint=$AWS_S3_ENDPOINT_URL"],
                                Env =
                                [
                                    new V1EnvVar { Name = "POD", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.name" } } },
                                    new V1EnvVar { Name = "AWS_S3_ENDPOINT_URL", ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = "r2-credentials", Key = "endpoint" } } },
                                ],
                            },
                        ],
                    },
                },
            },
        };
        await env.CreateAsync(job);

        var done = await env.WaitForJobAsync("idx", j => j.Status?.Conditions?.Any(c => c.Type == "Complete") == true);

        done.Status.CompletedIndexes.Should().Be("0-1");
        done.Status.Succeeded.Should().Be(2);
        foreach (var pod in await env.PodsOfAsync("idx"))
        {
            var index = pod.Metadata.Annotations["batch.kubernetes.io/job-completion-index"];
            pod.Metadata.Labels["batch.kubernetes.io/job-completion-index"].Should().Be(index);
            pod.Metadata.Name.Should().StartWith($"idx-{index}-");
            pod.Spec.Hostname.Should().Be($"idx-{index}");
            (await env.ReadLogAsync(pod.Metadata.Name)).Trim().Should().Be($"index={index} host=idx-{index} pod={pod.Metadata.Name} endpoint=http://r2.local");
        }
    }

    [Fact]
    public async Task A_missing_secret_is_a_create_container_config_error_until_it_exists()
    {
        await using var env = await WorkloadCluster.StartAsync(o => o.Workloads.Images["busybox:1.36"] = ImageMapping.Passthrough);
        var job = WorkloadCluster.TrainerJob("cfg", [], image: "busybox:1.36", configure: s =>
        {
            var container = s.Template.Spec.Containers[0];
            container.Command = ["/bin/sh", "-c", "echo key=$KEY"];
            container.Args = null;
            container.Env = [new V1EnvVar { Name = "KEY", ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = "late", Key = "k" } } }];
        });
        await env.CreateAsync(job);

        var waiting = await env.WaitForPodAsync("cfg", p => p.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Waiting?.Reason == "CreateContainerConfigError");
        waiting.Status.ContainerStatuses[0].State.Waiting.Message.Should().Be("secret \"late\" not found");

        await env.Client.CoreV1.CreateNamespacedSecretAsync(
            new V1Secret { Metadata = new V1ObjectMeta { Name = "late" }, StringData = new Dictionary<string, string> { ["k"] = "v" } }, WorkloadCluster.Namespace);

        await env.WaitForJobAsync("cfg", j => j.Status?.Conditions?.Any(c => c.Type == "Complete") == true);
        (await env.ReadLogAsync(waiting.Metadata.Name)).Trim().Should().Be("key=v");
    }

    [Fact]
    public async Task Removing_a_node_kills_its_containers_and_the_pod_gc_fails_and_deletes_its_pods()
    {
        await using var env = await WorkloadCluster.StartAsync();
        await env.CreateAsync(WorkloadCluster.TrainerJob("node-gone", ["--epochs", "60", "--epoch_seconds", "1"]));
        var running = await env.WaitForPodAsync("node-gone", p => p.Status?.Phase == "Running");
        env.Workloads.CordonNode("node-1");

        env.Workloads.RemoveNode("node-1").Should().BeTrue();

        await env.WaitUntilAsync(async () => !(await env.PodsOfAsync("node-gone")).Any(p => p.Metadata.Uid == running.Metadata.Uid), "the pod of the removed node is gone");
        await env.WaitUntilAsync(() => Task.FromResult(!env.ProcessRunningWith("node-gone")), "its processes are killed");
        var job = await env.WaitForJobAsync("node-gone", j => j.Status?.Conditions?.Any(c => c.Type == "Failed") == true);
        job.Status.Conditions.Single(c => c.Type == "Failed").Reason.Should().Be("BackoffLimitExceeded");
        env.Workloads.Nodes.Should().BeEmpty();
    }

    [Fact]
    public async Task A_cordoned_node_takes_no_new_pods_until_uncordoned()
    {
        await using var env = await WorkloadCluster.StartAsync();
        env.Workloads.CordonNode("node-1");
        await env.CreateAsync(WorkloadCluster.TrainerJob("cordon", ["--epochs", "1"]));

        var pending = await env.WaitForPodAsync("cordon", p => p.Status?.Conditions?.Any(c => c.Type == "PodScheduled" && c.Status == "False") == true);
        pending.Status.Conditions.Single(c => c.Type == "PodScheduled").Message.Should().StartWith("0/1 nodes are available: 1 node(s) were unschedulable.");

        env.Workloads.UncordonNode("node-1");

        await env.WaitForJobAsync("cordon", j => j.Status?.Conditions?.Any(c => c.Type == "Complete") == true);
    }

    [Fact]
    public async Task The_simulated_nodes_are_served_as_node_objects_that_follow_the_inventory()
    {
        await using var env = await WorkloadCluster.StartAsync();

        await env.WaitUntilAsync(async () => (await env.Client.CoreV1.ListNodeAsync()).Items.Count == 1, "node-1 is registered");
        var node = (await env.Client.CoreV1.ListNodeAsync()).Items.Single();
        node.Metadata.Name.Should().Be("node-1");
        node.Status.Allocatable["cpu"].ToString().Should().Be("8");
        node.Status.Allocatable["memory"].ToString().Should().Be("32Gi");
        node.Status.Allocatable.Should().NotContainKey("nvidia.com/gpu");
        node.Status.Conditions.Should().ContainSingle(c => c.Type == "Ready" && c.Status == "True");
        node.Metadata.Labels["kubernetes.io/hostname"].Should().Be("node-1");

        env.Workloads.AddNode(SimulatedNode.Gpu("gpu-1", gpus: 2));
        env.Workloads.CordonNode("node-1");

        await env.WaitUntilAsync(async () => (await env.Client.CoreV1.ListNodeAsync()).Items.Count == 2, "gpu-1 is registered");
        await env.WaitUntilAsync(async () => (await env.Client.CoreV1.ReadNodeAsync("node-1")).Spec.Unschedulable == true, "node-1 shows the cordon");
        var cordoned = await env.Client.CoreV1.ReadNodeAsync("node-1");
        cordoned.Spec.Taints.Should().ContainSingle(t => t.Key == "node.kubernetes.io/unschedulable" && t.Effect == "NoSchedule");
        var gpu = await env.Client.CoreV1.ReadNodeAsync("gpu-1");
        gpu.Status.Allocatable["nvidia.com/gpu"].ToString().Should().Be("2");
        gpu.Metadata.Labels["accelerator"].Should().Be("nvidia-gpu");
        gpu.Spec.Taints.Should().ContainSingle(t => t.Key == "nvidia.com/gpu" && t.Effect == "NoSchedule");

        env.Workloads.RemoveNode("gpu-1");

        await env.WaitUntilAsync(async () => (await env.Client.CoreV1.ListNodeAsync()).Items.Count == 1, "gpu-1 is gone");
    }
}
