using k8s;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>The executor against the test cluster's controllers and node agent, running the demo trainer.</summary>
public class ExecutorWorkloadTests
{
    [Fact]
    public async Task The_demo_trainer_runs_end_to_end_with_its_log_followed()
    {
        await using var h = await WorkloadHarness.StartAsync();
        var run = await h.Executor.StartAsync(WorkloadHarness.Trainer("demo-1").Build());

        var lines = new List<TrainingLogLine>();
        await foreach (var line in h.Executor.GetLogsAsync(run, new TrainingLogOptions { Follow = true, Timestamps = true }).WithCancellation(Timeout()))
        {
            lines.Add(line);
        }

        var status = await h.Executor.GetStatusAsync(run);
        status.Phase.Should().Be(TrainingPhase.Succeeded);
        status.Reason.Should().Be(TrainingStatusReasons.Completed);
        status.ExitCode.Should().Be(0);
        status.Attempt.Should().Be(1);
        status.StartedAt.Should().NotBeNull();
        status.FinishedAt.Should().NotBeNull();
        lines.Where(l => l.Text.StartsWith("VP_PROGRESS", StringComparison.Ordinal)).Should().HaveCount(3);
        lines.Should().OnlyContain(l => l.Attempt == 1 && l.Timestamp != null);
        lines.Select(l => l.Text).Should().NotContain(t => t.Contains(WorkloadHarness.StorageSecret));

        var tail = await ToListAsync(h.Executor.GetLogsAsync(run, new TrainingLogOptions { TailLines = 2 }));
        tail.Select(l => l.Text).Should().Equal(lines.TakeLast(2).Select(l => l.Text));
        tail.Should().OnlyContain(l => l.Timestamp == null);

        var none = await ToListAsync(h.Executor.GetLogsAsync(run, new TrainingLogOptions { Since = DateTimeOffset.UtcNow.AddMinutes(5) }));
        none.Should().BeEmpty();
        var since = await ToListAsync(h.Executor.GetLogsAsync(run, new TrainingLogOptions { Since = lines[1].Timestamp }));
        since.Select(l => l.Text).Should().Equal(lines.Skip(1).Select(l => l.Text));
    }

    [Fact]
    public async Task Following_waits_while_the_image_cannot_be_pulled_and_streams_once_it_starts()
    {
        await using var h = await WorkloadHarness.StartAsync();
        var config = WorkloadHarness.Trainer("pull-later").Build();
        var image = Jobs.Builder().Build(config).Spec.Template.Spec.Containers[0].Image;
        h.Faults().MakeImageUnpullable(image);
        var run = await h.Executor.StartAsync(config);

        var following = ToListAsync(h.Executor.GetLogsAsync(run, new TrainingLogOptions { Follow = true }), Timeout());
        await h.WaitForAsync(run, s => s.Reason is TrainingStatusReasons.ErrImagePull or TrainingStatusReasons.ImagePullBackOff, "an image pull failure");
        following.IsCompleted.Should().BeFalse("following waits for the pod to start instead of failing");
        h.Faults().MakeImagePullable(image);

        var lines = await following;
        lines.Count(l => l.Text.StartsWith("VP_PROGRESS", StringComparison.Ordinal)).Should().Be(3);
        (await h.Executor.GetStatusAsync(run)).Phase.Should().Be(TrainingPhase.Succeeded);
    }

    [Fact]
    public async Task A_disrupted_pod_is_replaced_without_counting_as_a_failure()
    {
        await using var h = await WorkloadHarness.StartAsync(executor: o => o.Job.BackoffLimit = 0);
        var run = await h.Executor.StartAsync(WorkloadHarness.Trainer("disrupt-1", """{"epoch_seconds": 1}""").Build());
        await h.WaitForAsync(run, s => s.Phase == TrainingPhase.Running, "Running");

        var pod = (await h.PodsAsync()).Single();
        h.Faults().DisruptPod("training", pod.Metadata.Name).Should().BeTrue();

        var done = await h.WaitForAsync(run, s => s.IsTerminal, "completion after the disruption");
        done.Phase.Should().Be(TrainingPhase.Succeeded, "the podFailurePolicy ignores DisruptionTarget, so backoffLimit 0 is not used up");
        (await h.PodsAsync()).Should().ContainSingle().Which.Metadata.Name.Should().NotBe(pod.Metadata.Name, "a replacement pod ran the job to completion");
    }

    [Fact]
    public async Task A_suspended_job_is_pending_with_reason_Suspended()
    {
        await using var h = await WorkloadHarness.StartAsync();
        var run = await h.Executor.StartAsync(WorkloadHarness.Trainer("suspend-1", """{"epoch_seconds": 30}""").Build());
        await h.WaitForAsync(run, s => s.Phase == TrainingPhase.Running, "Running");

        await h.Client.BatchV1.PatchNamespacedJobAsync(new k8s.Models.V1Patch("""{"spec":{"suspend":true}}""", k8s.Models.V1Patch.PatchType.MergePatch), "training-job-suspend-1", "training");

        var suspended = await h.WaitForAsync(run, s => s.Reason == TrainingStatusReasons.Suspended, "Suspended");
        suspended.Phase.Should().Be(TrainingPhase.Pending);
        (await h.Executor.StopAsync(run)).Phase.Should().Be(TrainingPhase.Stopped);
    }

    [Fact]
    public async Task A_retried_run_counts_attempts_and_the_followed_log_moves_on_to_the_next_pod()
    {
        await using var h = await WorkloadHarness.StartAsync(executor: o => o.Job.BackoffLimit = 1);
        var run = await h.Executor.StartAsync(WorkloadHarness.Trainer("retry-1", """{"epoch_seconds": 0.2, "fail_at_epoch": 2}""").Build());

        var lines = await ToListAsync(h.Executor.GetLogsAsync(run, new TrainingLogOptions { Follow = true }), Timeout());

        var status = await h.Executor.GetStatusAsync(run);
        status.Phase.Should().Be(TrainingPhase.Failed);
        status.Reason.Should().Be(TrainingStatusReasons.BackoffLimitExceeded);
        status.Attempt.Should().Be(2);
        status.ExitCode.Should().Be(1);
        status.Message.Should().Contain("Last log lines");
        lines.Select(l => l.Attempt).Distinct().Should().Equal(1, 2);
        lines.Count(l => l.Text.StartsWith("VP_PROGRESS", StringComparison.Ordinal)).Should().Be(2, "each attempt completes epoch 1, then fails at epoch 2");

        var all = await ToListAsync(h.Executor.GetLogsAsync(run, new TrainingLogOptions { AllAttempts = true }));
        all.Select(l => l.Text).Should().Equal(lines.Select(l => l.Text));
        var current = await ToListAsync(h.Executor.GetLogsAsync(run));
        current.Should().OnlyContain(l => l.Attempt == 2);
    }

    [Fact]
    public async Task Bad_input_exit_code_fails_the_job_at_once_through_the_pod_failure_policy()
    {
        await using var h = await WorkloadHarness.StartAsync();
        var run = await h.Executor.StartAsync(WorkloadHarness.Trainer("bad-input", """{"exit_code": 2}""").Build());

        var status = await h.WaitForAsync(run, s => s.IsTerminal, "a terminal status");

        status.Phase.Should().Be(TrainingPhase.Failed);
        status.Reason.Should().Be(TrainingStatusReasons.InvalidTrainerInput, "the subprocess executor's reason for exit code 2");
        status.ExitCode.Should().Be(2);
        status.Attempt.Should().Be(1, "exit code 2 is not retried");
    }

    [Fact]
    public async Task An_oom_killed_trainer_is_reported_as_OOMKilled()
    {
        await using var h = await WorkloadHarness.StartAsync(executor: o => o.Job.BackoffLimit = 0);
        h.Faults().OomKillNextContainer();
        var run = await h.Executor.StartAsync(WorkloadHarness.Trainer("oom-1", """{"epoch_seconds": 5}""").Build());

        var status = await h.WaitForAsync(run, s => s.IsTerminal, "a terminal status");

        status.Phase.Should().Be(TrainingPhase.Failed);
        status.Reason.Should().Be(TrainingStatusReasons.OomKilled);
        status.ExitCode.Should().Be(137);
    }

    [Fact]
    public async Task A_job_past_its_deadline_fails_with_DeadlineExceeded()
    {
        await using var h = await WorkloadHarness.StartAsync(executor: o => o.Job.ActiveDeadlineSeconds = 2);
        var run = await h.Executor.StartAsync(WorkloadHarness.Trainer("deadline-1", """{"epoch_seconds": 30}""").Build());

        var status = await h.WaitForAsync(run, s => s.IsTerminal, "a terminal status");

        status.Phase.Should().Be(TrainingPhase.Failed);
        status.Reason.Should().Be(TrainingStatusReasons.DeadlineExceeded);
    }

    [Fact]
    public async Task A_gpu_job_without_gpu_nodes_is_unschedulable_then_runs_when_a_gpu_node_joins()
    {
        await using var h = await WorkloadHarness.StartAsync();
        var run = await h.Executor.StartAsync(WorkloadHarness.Trainer("gpu-1").Apply(b => b.Resources = new TrainingResources { Gpus = 1 }).Build());

        var pending = await h.WaitForAsync(run, s => s.Reason == TrainingStatusReasons.Unschedulable, "Unschedulable");
        pending.Phase.Should().Be(TrainingPhase.Pending);
        pending.Message.Should().Contain("nodes are available", "the scheduler's own message is passed on");

        h.Faults().AddNode(VisionPlatform.Training.Kubernetes.TestCluster.Scheduling.SimulatedNode.Gpu("gpu-late", gpus: 1));
        (await h.WaitForAsync(run, s => s.IsTerminal, "completion")).Phase.Should().Be(TrainingPhase.Succeeded);
    }

    [Fact]
    public async Task An_image_that_cannot_be_pulled_is_pending_then_failed_after_the_timeout()
    {
        // The Pending status must be seen before the timeout turns it Failed, by a poll that a loaded machine can delay by
        // seconds; pod times are whole seconds, so a short timeout left a window of about two seconds.
        await using var h = await WorkloadHarness.StartAsync(executor: o => o.ImagePullBackOffTimeout = TimeSpan.FromSeconds(10));
        var run = await h.Executor.StartAsync(Jobs.Config("pull-1").Build(), new KubernetesJobOptions { Image = "registry.example.com/missing/image:0" });

        var pending = await h.WaitForAsync(run, s => s.Reason is TrainingStatusReasons.ErrImagePull or TrainingStatusReasons.ImagePullBackOff, "an image pull failure");
        pending.Phase.Should().Be(TrainingPhase.Pending);
        pending.Message.Should().Contain("registry.example.com/missing/image:0");

        var failed = await h.WaitForAsync(run, s => s.IsTerminal, "Failed after the pull timeout");
        failed.Phase.Should().Be(TrainingPhase.Failed);
        failed.Reason.Should().BeOneOf(TrainingStatusReasons.ErrImagePull, TrainingStatusReasons.ImagePullBackOff);
        (await h.Executor.StopAsync(run)).Phase.Should().Be(TrainingPhase.Stopped, "the Job keeps retrying the pull until it is stopped");
    }

    [Fact]
    public async Task Watch_reports_each_phase_until_the_run_ends()
    {
        await using var h = await WorkloadHarness.StartAsync();
        var run = await h.Executor.StartAsync(WorkloadHarness.Trainer("watch-1", """{"epoch_seconds": 0.5}""").Build());

        var seen = await ToListAsync(h.Executor.WatchAsync(run), Timeout());

        seen.Last().Phase.Should().Be(TrainingPhase.Succeeded);
        seen.Select(s => s.Phase).Should().Contain(TrainingPhase.Running);
        seen.Should().OnlyHaveUniqueItems();
    }

    [Fact]
    public async Task Stop_frees_the_pods_and_keeps_the_job_with_the_run_stopped()
    {
        await using var h = await WorkloadHarness.StartAsync();
        var run = await h.Executor.StartAsync(WorkloadHarness.Trainer("stop-1", """{"epoch_seconds": 30, "workers": 2}""").Build());
        await h.WaitForAsync(run, s => s.Phase == TrainingPhase.Running, "Running");

        var stopped = await h.Executor.StopAsync(run, new TrainingStopOptions { GracePeriod = TimeSpan.FromSeconds(2) });

        stopped.Phase.Should().Be(TrainingPhase.Stopped);
        await Eventually.GetAsync(h.PodsAsync, pods => pods.Count == 0, "the Job's pods to be deleted");
        var job = await Eventually.GetAsync(async () => (await h.JobsAsync()).Single(), j => j.Status?.Conditions?.Any(c => c.Type == "Failed") == true, "the Job controller to end the Job");
        job.Status.Conditions.Single(c => c.Type == "Failed").Reason.Should().Be("DeadlineExceeded");
        job.Metadata.DeletionTimestamp.Should().BeNull("the Job stays until its TTL");
        (await h.Executor.GetStatusAsync(run)).Should().BeEquivalentTo(stopped, "the same stop, read from the ended Job");
        (await h.Executor.StopAsync(run)).Phase.Should().Be(TrainingPhase.Stopped);
    }

    [Fact]
    public async Task Stopping_a_finished_run_keeps_its_outcome()
    {
        await using var h = await WorkloadHarness.StartAsync();
        var run = await h.Executor.StartAsync(WorkloadHarness.Trainer("done-1", """{"epoch_seconds": 0}""", epochs: 1).Build());
        await h.WaitForAsync(run, s => s.IsTerminal, "completion");

        (await h.Executor.StopAsync(run)).Phase.Should().Be(TrainingPhase.Succeeded);
        (await h.JobsAsync()).Should().ContainSingle();
    }

    [Fact]
    public async Task The_trainer_gets_secrets_by_reference_and_the_run_is_found_after_a_restart()
    {
        await using var h = await WorkloadHarness.StartAsync();
        var run = await h.Executor.StartAsync(WorkloadHarness.Trainer("env-1", """{"epoch_seconds": 0}""", epochs: 1).Build());
        await h.WaitForAsync(run, s => s.IsTerminal, "completion");

        var restarted = h.NewExecutor();
        var found = await restarted.FindAsync("env-1");
        found.Should().Be(run);
        (await restarted.GetStatusAsync(found!)).Phase.Should().Be(TrainingPhase.Succeeded);
        var job = (await h.JobsAsync()).Single();
        KubernetesYaml.Serialize(job).Should().NotContain(WorkloadHarness.StorageSecret);
        restarted.Dispose();
    }

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(120)).Token;

    private static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items, CancellationToken cancellationToken = default)
    {
        var list = new List<T>();
        await foreach (var item in items.WithCancellation(cancellationToken))
        {
            list.Add(item);
        }

        return list;
    }
}
