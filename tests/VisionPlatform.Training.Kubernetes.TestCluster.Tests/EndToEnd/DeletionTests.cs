using k8s;
using k8s.Models;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.EndToEnd;

public class DeletionTests
{
    private static async Task<(WorkloadCluster Env, V1Pod Pod)> StartRunningAsync(string name)
    {
        var env = await WorkloadCluster.StartAsync();
        await env.CreateAsync(WorkloadCluster.TrainerJob(name, ["--epochs", "60", "--epoch_seconds", "1", "--workers", "1"]));
        var pod = await env.WaitForPodAsync(name, p => p.Status?.Phase == "Running");
        await env.WaitUntilAsync(() => Task.FromResult(env.ProcessRunningWith(name)), "the trainer runs");
        return (env, pod);
    }

    [Fact]
    public async Task Background_removes_the_job_now_then_its_pods_and_their_processes()
    {
        var (env, _) = await StartRunningAsync("del-bg");
        await using var _ = env;

        var status = await env.Client.BatchV1.DeleteNamespacedJobAsync("del-bg", WorkloadCluster.Namespace, propagationPolicy: "Background");

        status.HasObject.Should().BeFalse();
        status.Status.Should().Be("Success");
        (await env.Client.BatchV1.ListNamespacedJobAsync(WorkloadCluster.Namespace)).Items.Should().BeEmpty();
        await env.WaitUntilAsync(async () => (await env.PodsOfAsync("del-bg")).Count == 0, "the pods are gone");
        await env.WaitUntilAsync(() => Task.FromResult(!env.ProcessRunningWith("del-bg")), "the trainer and its workers are killed");
    }

    [Fact]
    public async Task Foreground_keeps_the_job_until_its_pods_are_gone()
    {
        var (env, _) = await StartRunningAsync("del-fg");
        await using var _ = env;

        var status = await env.Client.BatchV1.DeleteNamespacedJobAsync("del-fg", WorkloadCluster.Namespace, propagationPolicy: "Foreground");

        status.HasObject.Should().BeTrue();
        var terminating = status.ObjectView<V1Job>();
        terminating.Metadata.DeletionTimestamp.Should().NotBeNull();
        terminating.Metadata.Finalizers.Should().Contain("foregroundDeletion");
        await env.WaitUntilAsync(async () => (await env.Client.BatchV1.ListNamespacedJobAsync(WorkloadCluster.Namespace)).Items.Count == 0, "the job is gone");
        (await env.PodsOfAsync("del-fg")).Should().BeEmpty("the job disappears only after its pods");
        await env.WaitUntilAsync(() => Task.FromResult(!env.ProcessRunningWith("del-fg")), "the trainer and its workers are killed");
    }

    [Fact]
    public async Task The_default_orphans_the_pods_which_keep_running_without_owner_references()
    {
        var (env, pod) = await StartRunningAsync("del-orphan");
        await using var _ = env;

        var status = await env.Client.BatchV1.DeleteNamespacedJobAsync("del-orphan", WorkloadCluster.Namespace);

        status.HasObject.Should().BeTrue();
        status.ObjectView<V1Job>().Metadata.Finalizers.Should().Contain("orphan");
        await env.WaitUntilAsync(async () => (await env.Client.BatchV1.ListNamespacedJobAsync(WorkloadCluster.Namespace)).Items.Count == 0, "the job is gone");
        var orphan = await env.Client.CoreV1.ReadNamespacedPodAsync(pod.Metadata.Name, WorkloadCluster.Namespace);
        orphan.Metadata.OwnerReferences.Should().BeNullOrEmpty("the garbage collector orphans the dependents before the Job goes");

        // The job controller releases the tracking finalizer of orphans in its own next pass, as upstream's does.
        await env.WaitUntilAsync(
            async () => (orphan = await env.Client.CoreV1.ReadNamespacedPodAsync(pod.Metadata.Name, WorkloadCluster.Namespace)).Metadata.Finalizers is null or { Count: 0 },
            "the job controller releases the tracking finalizer of the orphan");
        orphan.Metadata.OwnerReferences.Should().BeNullOrEmpty();
        orphan.Status.Phase.Should().Be("Running");
        env.ProcessRunningWith("del-orphan").Should().BeTrue();

        await env.Client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, WorkloadCluster.Namespace, gracePeriodSeconds: 1);
        await env.WaitUntilAsync(() => Task.FromResult(!env.ProcessRunningWith("del-orphan")), "the orphan's processes are killed");
    }

    [Fact]
    public async Task Disposing_the_cluster_kills_every_process_it_started()
    {
        var (env, _) = await StartRunningAsync("dispose-kill");

        await env.DisposeAsync();

        env.ProcessRunningWith("dispose-kill").Should().BeFalse();
    }
}
