using k8s;
using k8s.Models;
using VisionPlatform.Training.Kubernetes.TestCluster.Scheduling;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.EndToEnd;

public class PodLifecycleTests
{
    private static void RequestGpu(V1JobSpec spec)
    {
        var pod = spec.Template.Spec;
        pod.Containers[0].Resources = new V1ResourceRequirements
        {
            Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("2"), ["memory"] = new("8Gi") },
            Limits = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("4"), ["memory"] = new("16Gi"), ["nvidia.com/gpu"] = new("1") },
        };
        pod.NodeSelector = new Dictionary<string, string> { ["accelerator"] = "nvidia-gpu" };
        pod.Tolerations = [new V1Toleration { Key = "nvidia.com/gpu", OperatorProperty = "Exists", Effect = "NoSchedule" }];
    }

    [Fact]
    public async Task A_gpu_pod_stays_pending_as_unschedulable_until_a_gpu_node_joins()
    {
        await using var env = await WorkloadCluster.StartAsync(o => o.Workloads.Nodes.Add(new SimulatedNode("cpu-2", cpu: "2", memory: "4Gi")));
        await env.CreateAsync(WorkloadCluster.TrainerJob("train-gpu", ["--epochs", "1"], configure: RequestGpu));

        var pending = await env.WaitForPodAsync("train-gpu", p => p.Status?.Conditions?.Any(c => c.Type == "PodScheduled") == true);

        pending.Status.Phase.Should().Be("Pending");
        pending.Spec.NodeName.Should().BeNull();
        pending.Status.ContainerStatuses.Should().BeNullOrEmpty();
        var scheduled = pending.Status.Conditions.Single(c => c.Type == "PodScheduled");
        (scheduled.Status, scheduled.Reason).Should().Be(("False", "Unschedulable"));
        scheduled.Message.Should().Be(
            "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. "
            + "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.");
        scheduled.LastTransitionTime.Should().NotBeNull();
        var job = await env.Client.BatchV1.ReadNamespacedJobAsync("train-gpu", WorkloadCluster.Namespace);
        job.Status.Active.Should().Be(1, "an unschedulable pod keeps the Job active");

        env.Workloads.AddNode(SimulatedNode.Gpu("gpu-1"));

        var done = await env.WaitForJobAsync("train-gpu", j => j.Status?.Conditions?.Any(c => c.Type == "Complete") == true);
        done.Status.Succeeded.Should().Be(1);
        (await env.PodsOfAsync("train-gpu")).Single().Spec.NodeName.Should().Be("gpu-1");
    }

    [Fact]
    public async Task A_gpu_node_without_free_gpus_reports_insufficient_gpu()
    {
        await using var env = await WorkloadCluster.StartAsync(o => o.Workloads.Nodes.Add(SimulatedNode.Gpu("gpu-1", gpus: 1)));
        await env.CreateAsync(WorkloadCluster.TrainerJob("train-gpu-a", ["--epochs", "30", "--epoch_seconds", "1"], configure: RequestGpu));
        await env.WaitForPodAsync("train-gpu-a", p => p.Status?.Phase == "Running");
        await env.CreateAsync(WorkloadCluster.TrainerJob("train-gpu-b", ["--epochs", "1"], configure: RequestGpu));

        var pending = await env.WaitForPodAsync("train-gpu-b", p => p.Status?.Conditions?.Any(c => c.Type == "PodScheduled" && c.Status == "False") == true);

        pending.Status.Conditions.Single(c => c.Type == "PodScheduled").Message.Should().Be(
            "0/2 nodes are available: 1 Insufficient nvidia.com/gpu, 1 node(s) didn't match Pod's node affinity/selector. "
            + "preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.");

        await env.Client.BatchV1.DeleteNamespacedJobAsync("train-gpu-a", WorkloadCluster.Namespace, propagationPolicy: "Background");
        await env.WaitForJobAsync("train-gpu-b", j => j.Status?.Conditions?.Any(c => c.Type == "Complete") == true);
    }

    [Fact]
    public async Task An_unmapped_image_shows_err_image_pull_then_image_pull_back_off_and_never_starts()
    {
        await using var env = await WorkloadCluster.StartAsync();
        await env.CreateAsync(WorkloadCluster.TrainerJob("train-pull", ["--epochs", "1"], image: "registry.example.com/trainer-missing:9.9"));

        var errPull = await env.WaitForPodAsync("train-pull", p => p.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Waiting?.Reason == "ErrImagePull");
        var waiting = errPull.Status.ContainerStatuses[0];
        waiting.State.Waiting.Message.Should().Contain("failed to pull and unpack image \"registry.example.com/trainer-missing:9.9\"");
        (waiting.Ready, waiting.Started, waiting.RestartCount, waiting.ImageID).Should().Be((false, false, 0, ""));
        errPull.Status.Phase.Should().Be("Pending");
        errPull.Spec.NodeName.Should().Be("node-1");
        errPull.Status.Conditions.Should().Contain(c => c.Type == "Ready" && c.Status == "False" && c.Reason == "ContainersNotReady" && c.Message == "containers with unready status: [trainer]");

        var backOff = await env.WaitForPodAsync("train-pull", p => p.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Waiting?.Reason == "ImagePullBackOff");
        backOff.Status.ContainerStatuses[0].State.Waiting.Message.Should().StartWith("Back-off pulling image \"registry.example.com/trainer-missing:9.9\"");
        var job = await env.Client.BatchV1.ReadNamespacedJobAsync("train-pull", WorkloadCluster.Namespace);
        job.Status.Active.Should().Be(1, "an image pull failure is not a pod failure");
        job.Status.Failed.Should().BeNull();
    }

    [Fact]
    public async Task An_unpullable_image_fault_recovers_when_lifted()
    {
        await using var env = await WorkloadCluster.StartAsync();
        env.Workloads.MakeImageUnpullable(WorkloadCluster.TrainerImage);
        await env.CreateAsync(WorkloadCluster.TrainerJob("train-unpullable", ["--epochs", "1"]));
        await env.WaitForPodAsync("train-unpullable", p => p.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Waiting?.Reason is "ErrImagePull" or "ImagePullBackOff");

        env.Workloads.MakeImagePullable(WorkloadCluster.TrainerImage);

        await env.WaitForJobAsync("train-unpullable", j => j.Status?.Conditions?.Any(c => c.Type == "Complete") == true);
    }

    [Fact]
    public async Task An_oom_kill_fault_reports_oom_killed_with_exit_code_137()
    {
        await using var env = await WorkloadCluster.StartAsync();
        await env.CreateAsync(WorkloadCluster.TrainerJob("train-oom", ["--epochs", "60", "--epoch_seconds", "1"]));
        var running = await env.WaitForPodAsync("train-oom", p => p.Status?.Phase == "Running");
        running.Status.ContainerStatuses[0].State.Running.StartedAt.Should().NotBeNull();
        running.Status.ContainerStatuses[0].Ready.Should().BeTrue();
        running.Status.Conditions.Should().Contain(c => c.Type == "Ready" && c.Status == "True");

        env.Workloads.OomKill(WorkloadCluster.Namespace, running.Metadata.Name, "trainer").Should().BeTrue();

        var failed = await env.WaitForPodAsync("train-oom", p => p.Status?.Phase == "Failed");
        var terminated = failed.Status.ContainerStatuses[0].State.Terminated;
        (terminated.Reason, terminated.ExitCode).Should().Be(("OOMKilled", 137));
        var job = await env.WaitForJobAsync("train-oom", j => j.Status?.Conditions?.Any(c => c.Type == "Failed") == true);
        job.Status.Conditions.Single(c => c.Type == "Failed").Reason.Should().Be("BackoffLimitExceeded");
        env.ProcessRunningWith("train-oom").Should().BeFalse();
    }

    [Fact]
    public async Task The_next_container_can_be_armed_for_an_oom_kill()
    {
        await using var env = await WorkloadCluster.StartAsync();
        env.Workloads.OomKillNextContainer(WorkloadCluster.TrainerImage);
        await env.CreateAsync(WorkloadCluster.TrainerJob("train-oom-next", ["--epochs", "60", "--epoch_seconds", "1"]));

        var failed = await env.WaitForPodAsync("train-oom-next", p => p.Status?.Phase == "Failed");

        failed.Status.ContainerStatuses[0].State.Terminated.Reason.Should().Be("OOMKilled");
    }
}
