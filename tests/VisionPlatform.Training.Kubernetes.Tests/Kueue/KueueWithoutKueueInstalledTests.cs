using k8s;

namespace VisionPlatform.Training.Kubernetes.Tests.Kueue;

/// <summary>
/// A host with a queue configured whose API user may not read Kueue's objects (or a cluster without them): the Job is
/// created suspended and labelled, the run reads Queued from the Job alone, the optional Workload watch ends after one
/// try; hosts without a queue never ask for Kueue at all; the budget's record on the Job.
/// </summary>
public class KueueWithoutKueueInstalledTests
{
    [Fact]
    public async Task Without_RBAC_on_Kueue_a_queued_run_is_created_suspended_and_reads_Queued_from_the_monitor_and_a_direct_read()
    {
        // No rule for kueue.x-k8s.io: every Workload read is answered 403 (as a cluster without Kueue answers 404).
        await using var host = await MonitorHost.StartAsync(
            executor: o => o.Kueue.QueueName = "team-a",
            cluster: c => c.AccessPolicy = new TestCluster.Api.AccessPolicy([new([ "*" ], [ "*" ], ""), new([ "*" ], [ "*" ], "batch")]));
        await host.WaitForSyncAsync();

        var operation = await host.Client.StartAsync(Jobs.Config("kueue-none-1").Build());

        var status = await Eventually.GetAsync(() => operation.UpdateStatusAsync(), s => s.Reason == TrainingStatusReasons.Queued, "the run to read Queued");
        status.Phase.Should().Be(TrainingPhase.Pending);
        status.Message.Should().Be("Queued in LocalQueue team-a: waiting for Kueue to admit the run.");
        using var client = host.Api.CreateClient();
        var job = await client.BatchV1.ReadNamespacedJobAsync(KubernetesJobNames.FromJobId("kueue-none-1"), "training");
        job.Spec.Suspend.Should().BeTrue();
        job.Metadata.Labels.Should().Contain(KubernetesLabels.KueueQueueName, "team-a");

        // A direct read (no monitor): the same status; the Workload lookup answered 403 and changed nothing.
        using var direct = new KubernetesTrainingExecutor(client, new TrainingJobSpecBuilder(new KubernetesExecutorOptions { Kueue = { QueueName = "team-a" } }, new VisionPlatform.Training.Trainers.FlagTrainerContract()));
        var read = await direct.GetStatusAsync(operation.Run);
        read.Reason.Should().Be(TrainingStatusReasons.Queued);
        read.Message.Should().Be(status.Message);

        // The optional Workload watch tried its list once and gave up (403): no retry loop against a forbidden API.
        await Task.Delay(TimeSpan.FromSeconds(1));
        host.Api.Requests.Entries.Count(e => e.Path.Contains("/apis/kueue.x-k8s.io/v1beta1/namespaces/training/workloads", StringComparison.Ordinal) && e.Verb == "list" && !e.Query.Contains("labelSelector", StringComparison.Ordinal))
            .Should().Be(1);
        (await operation.StopAsync()).Phase.Should().Be(TrainingPhase.Stopped);
    }

    [Fact]
    public async Task A_host_without_a_queue_never_calls_the_Kueue_API()
    {
        await using var host = await MonitorHost.StartAsync();
        await host.WaitForSyncAsync();
        await host.WaitForWatchesAsync();

        var operation = await host.Client.StartAsync(Jobs.Config("kueue-none-2").Build());
        await operation.UpdateStatusAsync();

        host.Api.Requests.Entries.Should().NotContain(e => e.Path.Contains("kueue", StringComparison.Ordinal));
        host.Api.Faults.OpenWatches.Should().Be(3, "Jobs, pods and FailedCreate Events: no Workload watch without a queue");
        await operation.StopAsync();
    }

    [Fact]
    public async Task Without_the_visibility_API_or_the_queue_the_position_is_unknown_after_one_call_per_version()
    {
        await using var harness = await ClusterHarness.StartAsync();
        var reasons = new List<string>();

        var positions = await KueueClient.TryReadPositionsAsync(harness.Client, "training", "team-a", reasons.Add, CancellationToken.None);

        positions.Should().BeNull();
        reasons.Should().ContainSingle().Which.Should().Contain("404");
        harness.Cluster.Requests.Entries.Select(e => e.Path).Should().Equal(
            "/apis/visibility.kueue.x-k8s.io/v1beta2/namespaces/training/localqueues/team-a/pendingworkloads",
            "/apis/visibility.kueue.x-k8s.io/v1beta1/namespaces/training/localqueues/team-a/pendingworkloads");
    }

    [Fact]
    public async Task A_spent_preemption_budget_is_recorded_on_the_Job_and_read_as_Failed_by_every_host()
    {
        await using var harness = await ClusterHarness.StartAsync(executor: o => o.Kueue.QueueName = "team-a");
        var run = await harness.Executor.StartAsync(Jobs.Config("kueue-budget-1").Build());
        var job = (await harness.JobsAsync()).Single();
        var at = new DateTimeOffset(2026, 12, 7, 16, 0, 0, TimeSpan.Zero);

        // The Workload patch answers 404 here (no Kueue): ignored; the Job's record is what every host reads.
        var written = await KueueClient.EnforceBudgetAsync(harness.Client, "training", job.Metadata.Name, Guid.Parse(job.Metadata.Uid), "job-kueue-budget-1-abcde", at, CancellationToken.None);

        written.Should().NotBeNull();
        written!.Metadata.Annotations.Should().Contain(KubernetesLabels.StopReasonAnnotation, TrainingStatusReasons.PreemptionBudgetExhausted)
            .And.Contain(KubernetesLabels.StopRequestedAnnotation, "2026-12-07T16:00:00Z");
        written.Spec.ActiveDeadlineSeconds.Should().Be(0);
        harness.Cluster.Requests.Entries.Should().Contain(e => e.Method == "PATCH" && e.Path == "/apis/kueue.x-k8s.io/v1beta1/namespaces/training/workloads/job-kueue-budget-1-abcde");
        using var restarted = harness.NewExecutor();
        var status = await restarted.GetStatusAsync(run);
        status.Phase.Should().Be(TrainingPhase.Failed);
        status.Reason.Should().Be(TrainingStatusReasons.PreemptionBudgetExhausted);
        status.FinishedAt.Should().Be(at);
        status.Message.Should().StartWith("The run was preempted more times, more than the 10 allowed");
        (await restarted.StopAsync(run)).Reason.Should().Be(TrainingStatusReasons.PreemptionBudgetExhausted, "a stop keeps the recorded outcome");
        (await KueueClient.EnforceBudgetAsync(harness.Client, "training", job.Metadata.Name, Guid.NewGuid(), "x", at, CancellationToken.None))
            .Should().BeNull("the uid precondition protects a Job that is another run now");
    }
}
