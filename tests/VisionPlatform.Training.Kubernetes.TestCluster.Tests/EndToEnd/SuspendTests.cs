using k8s;
using k8s.Models;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.EndToEnd;

public class SuspendTests
{
    [Fact]
    public async Task Suspending_a_running_job_stops_its_pod_without_counting_a_failure_and_resuming_starts_a_new_one()
    {
        await using var env = await WorkloadCluster.StartAsync();
        await env.CreateAsync(WorkloadCluster.TrainerJob("suspend-running", ["--epochs", "60", "--epoch_seconds", "1"], configure: s => s.BackoffLimit = 0));
        var first = await env.WaitForPodAsync("suspend-running", p => p.Status?.Phase == "Running");

        await env.Client.BatchV1.PatchNamespacedJobAsync(new V1Patch("{\"spec\":{\"suspend\":true}}", V1Patch.PatchType.MergePatch), "suspend-running", WorkloadCluster.Namespace);

        var suspended = await env.WaitForJobAsync("suspend-running", j => j.Status?.Conditions?.Any(c => c.Type == "Suspended" && c.Status == "True") == true && j.Status.Active is null);
        suspended.Status.Failed.Should().BeNull("pods removed by suspension are not failures");
        await env.WaitUntilAsync(async () => (await env.PodsOfAsync("suspend-running")).Count == 0, "the pod is gone");
        await env.WaitUntilAsync(() => Task.FromResult(!env.ProcessRunningWith("suspend-running")), "the trainer is stopped");
        var stillSuspended = await env.Client.BatchV1.ReadNamespacedJobAsync("suspend-running", WorkloadCluster.Namespace);
        stillSuspended.Status.Conditions.Should().NotContain(c => c.Type == "Failed" || c.Type == "FailureTarget");

        await env.Client.BatchV1.PatchNamespacedJobAsync(new V1Patch("{\"spec\":{\"suspend\":false}}", V1Patch.PatchType.MergePatch), "suspend-running", WorkloadCluster.Namespace);

        var second = await env.WaitForPodAsync("suspend-running", p => p.Status?.Phase == "Running");
        second.Metadata.Uid.Should().NotBe(first.Metadata.Uid);
        await env.Client.BatchV1.DeleteNamespacedJobAsync("suspend-running", WorkloadCluster.Namespace, propagationPolicy: "Foreground");
        await env.WaitUntilAsync(() => Task.FromResult(!env.ProcessRunningWith("suspend-running")), "the trainer is stopped");
    }
}
