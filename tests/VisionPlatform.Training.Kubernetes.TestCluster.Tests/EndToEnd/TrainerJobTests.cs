using k8s;
using k8s.Models;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.EndToEnd;

public class TrainerJobTests
{
    [Fact]
    public async Task A_trainer_job_is_watched_to_completion_with_the_status_and_log_of_a_real_cluster()
    {
        await using var env = await WorkloadCluster.StartAsync();
        var created = await env.CreateAsync(WorkloadCluster.TrainerJob("train-ok", ["--epochs", "3", "--epoch_seconds", "0.2"]));

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var seen = new List<string>();
        V1Job? complete = null;
        await foreach (var (type, job) in env.Client.BatchV1.WatchListNamespacedJobAsync(
            WorkloadCluster.Namespace, fieldSelector: "metadata.name=train-ok", timeoutSeconds: 60, cancellationToken: timeout.Token))
        {
            foreach (var condition in job.Status?.Conditions ?? [])
            {
                if (!seen.Contains(condition.Type))
                {
                    seen.Add(condition.Type);
                }
            }

            if (job.Status?.Conditions?.Any(c => c.Type == "Complete" && c.Status == "True") == true)
            {
                complete = job;
                break;
            }
        }

        complete.Should().NotBeNull();
        seen.Should().Equal("SuccessCriteriaMet", "Complete");
        var status = complete!.Status;
        status.Succeeded.Should().Be(1);
        status.Active.Should().BeNull("0 is omitted");
        status.Failed.Should().BeNull();
        status.Ready.Should().Be(0);
        status.Terminating.Should().Be(0);
        status.StartTime.Should().NotBeNull();
        status.CompletionTime.Should().NotBeNull().And.BeOnOrAfter(status.StartTime!.Value);
        status.UncountedTerminatedPods.Should().NotBeNull();
        status.UncountedTerminatedPods.Succeeded.Should().BeNullOrEmpty();
        status.Conditions.Select(c => (c.Type, c.Status, c.Reason, c.Message)).Should().Equal(
            ("SuccessCriteriaMet", "True", "CompletionsReached", "Reached expected number of succeeded pods"),
            ("Complete", "True", "CompletionsReached", "Reached expected number of succeeded pods"));
        status.Conditions.Should().AllSatisfy(c => { c.LastProbeTime.Should().NotBeNull(); c.LastTransitionTime.Should().NotBeNull(); });

        var pod = (await env.PodsOfAsync("train-ok")).Should().ContainSingle().Subject;
        pod.Metadata.Name.Should().StartWith("train-ok-").And.HaveLength("train-ok-".Length + 5);
        pod.Metadata.Labels.Should().Contain("batch.kubernetes.io/controller-uid", created.Metadata.Uid)
            .And.Contain("batch.kubernetes.io/job-name", "train-ok")
            .And.Contain("controller-uid", created.Metadata.Uid)
            .And.Contain("job-name", "train-ok")
            .And.Contain("app", "training-job");
        var owner = pod.Metadata.OwnerReferences.Should().ContainSingle().Subject;
        (owner.ApiVersion, owner.Kind, owner.Name, owner.Uid, owner.Controller, owner.BlockOwnerDeletion)
            .Should().Be(("batch/v1", "Job", "train-ok", created.Metadata.Uid, true, true));
        pod.Metadata.Finalizers.Should().BeNullOrEmpty("the job-tracking finalizer is removed once the pod is counted");
        pod.Spec.NodeName.Should().Be("node-1");
        pod.Status.Phase.Should().Be("Succeeded");
        pod.Status.HostIP.Should().NotBeNullOrEmpty();
        pod.Status.PodIP.Should().NotBeNullOrEmpty();
        pod.Status.StartTime.Should().NotBeNull();
        var container = pod.Status.ContainerStatuses.Should().ContainSingle().Subject;
        container.State.Terminated.ExitCode.Should().Be(0);
        container.State.Terminated.Reason.Should().Be("Completed");
        container.State.Terminated.StartedAt.Should().NotBeNull();
        container.State.Terminated.FinishedAt.Should().NotBeNull();
        container.Ready.Should().BeFalse();
        container.RestartCount.Should().Be(0);
        pod.Status.Conditions.Should().Contain(c => c.Type == "Ready" && c.Status == "False" && c.Reason == "PodCompleted");
        pod.Status.Conditions.Should().Contain(c => c.Type == "PodScheduled" && c.Status == "True");

        var log = await env.ReadLogAsync(pod.Metadata.Name);
        log.Should().Contain("VP_PROGRESS");
        log.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.StartsWith("VP_PROGRESS", StringComparison.Ordinal)).Should().Be(3);
    }

    [Fact]
    public async Task A_failing_trainer_with_backoff_limit_1_gets_two_pods_then_fails_with_backoff_limit_exceeded()
    {
        await using var env = await WorkloadCluster.StartAsync();
        await env.CreateAsync(WorkloadCluster.TrainerJob("train-fail", ["--epochs", "2", "--fail_at_epoch", "1"], configure: s => s.BackoffLimit = 1));

        var job = await env.WaitForJobAsync("train-fail", j => j.Status?.Conditions?.Any(c => c.Type == "Failed") == true);

        job.Status.Conditions.Select(c => (c.Type, c.Status, c.Reason, c.Message)).Should().Equal(
            ("FailureTarget", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit"),
            ("Failed", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit"));
        job.Status.Failed.Should().Be(2);
        job.Status.Succeeded.Should().BeNull();
        job.Status.Active.Should().BeNull();
        job.Status.CompletionTime.Should().BeNull("completionTime is only set on success");
        var pods = await env.PodsOfAsync("train-fail");
        pods.Should().HaveCount(2).And.AllSatisfy(p =>
        {
            p.Status.Phase.Should().Be("Failed");
            p.Status.ContainerStatuses[0].State.Terminated.Reason.Should().Be("Error");
            p.Status.ContainerStatuses[0].State.Terminated.ExitCode.Should().Be(1);
        });
    }

    [Fact]
    public async Task A_fail_job_rule_on_exit_code_2_fails_the_job_at_the_first_failure()
    {
        await using var env = await WorkloadCluster.StartAsync();
        await env.CreateAsync(WorkloadCluster.TrainerJob("train-pfp", ["--epochs", "1", "--exit_code", "2"], configure: s =>
        {
            s.BackoffLimit = 6;
            s.PodFailurePolicy = new V1PodFailurePolicy
            {
                Rules =
                [
                    new V1PodFailurePolicyRule
                    {
                        Action = "FailJob",
                        OnExitCodes = new V1PodFailurePolicyOnExitCodesRequirement { ContainerName = "trainer", OperatorProperty = "In", Values = [2] },
                    },
                ],
            };
        }));

        var job = await env.WaitForJobAsync("train-pfp", j => j.Status?.Conditions?.Any(c => c.Type == "Failed") == true);

        var pod = (await env.PodsOfAsync("train-pfp")).Should().ContainSingle().Subject;
        var failed = job.Status.Conditions.Single(c => c.Type == "Failed");
        failed.Reason.Should().Be("PodFailurePolicy");
        failed.Message.Should().Be($"Container trainer for pod ml/{pod.Metadata.Name} failed with exit code 2 matching FailJob rule at index 0");
        job.Status.Conditions.Should().Contain(c => c.Type == "FailureTarget" && c.Reason == "PodFailurePolicy");
        job.Status.Failed.Should().Be(1);
    }

    [Fact]
    public async Task An_ignore_rule_on_disruption_replaces_a_disrupted_pod_without_counting_it()
    {
        await using var env = await WorkloadCluster.StartAsync();
        // Every attempt waits at a start gate until the test opens it, so the first pod is surely still training when it is
        // disrupted (a loaded machine once let it finish first: the Job completed on it and no pod was left to check).
        var gate = Path.Combine(Path.GetTempPath(), $"vp-evict-gate-{Guid.NewGuid():N}");
        await env.CreateAsync(WorkloadCluster.TrainerJob("train-evict", ["--epochs", "4", "--epoch_seconds", "0.5", "--start_gate", gate], configure: s =>
        {
            s.PodFailurePolicy = new V1PodFailurePolicy
            {
                Rules =
                [
                    new V1PodFailurePolicyRule
                    {
                        Action = "Ignore",
                        OnPodConditions = [new V1PodFailurePolicyOnPodConditionsPattern { Type = "DisruptionTarget", Status = "True" }],
                    },
                ],
            };
        }));
        var first = await env.WaitForPodAsync("train-evict", p => p.Status?.Phase == "Running");

        env.Workloads.DisruptPod(WorkloadCluster.Namespace, first.Metadata.Name).Should().BeTrue();
        await File.WriteAllTextAsync(gate, "open");

        var job = await env.WaitForJobAsync("train-evict", j => j.Status?.Conditions?.Any(c => c.Type is "Complete" or "Failed") == true);
        job.Status.Conditions.Should().Contain(c => c.Type == "Complete");
        job.Status.Failed.Should().BeNull("the disruption matched an Ignore rule");
        job.Status.Succeeded.Should().Be(1);
        var pods = await env.PodsOfAsync("train-evict");
        pods.Should().ContainSingle(p => p.Status.Phase == "Succeeded");
        pods.Where(p => p.Metadata.Uid == first.Metadata.Uid).Should().BeEmpty("the disrupted pod was deleted");
        File.Delete(gate);
    }

    [Fact]
    public async Task Passing_the_active_deadline_terminates_the_pods_and_fails_with_deadline_exceeded()
    {
        await using var env = await WorkloadCluster.StartAsync();
        // startTime has whole seconds, so a deadline of N s can end N-1 s after the start: 5 s leave a loaded machine time
        // to start the trainer and the test time to see it running before the deadline ends it.
        await env.CreateAsync(WorkloadCluster.TrainerJob("train-deadline", ["--epochs", "100", "--epoch_seconds", "1"], configure: s => s.ActiveDeadlineSeconds = 5));
        await env.WaitForPodAsync("train-deadline", p => p.Status?.Phase == "Running");

        // The pod is Running once the container's process is spawned; python3 may be a pyenv shim that execs a few times
        // before the interpreter runs, and /proc shows an empty command line for an instant of each exec.
        await env.WaitUntilAsync(() => Task.FromResult(env.ProcessRunningWith("train-deadline")), "the trainer runs");

        var job = await env.WaitForJobAsync("train-deadline", j => j.Status?.Conditions?.Any(c => c.Type == "Failed") == true);

        var failed = job.Status.Conditions.Single(c => c.Type == "Failed");
        (failed.Reason, failed.Message).Should().Be(("DeadlineExceeded", "Job was active longer than specified deadline"));
        job.Status.Conditions.Should().Contain(c => c.Type == "FailureTarget" && c.Reason == "DeadlineExceeded");
        job.Status.Active.Should().BeNull();
        job.Status.Terminating.Should().Be(0);
        job.Status.Failed.Should().Be(1);
        env.ProcessRunningWith("train-deadline").Should().BeFalse("the trainer was terminated");

        // As upstream, the Job fails once its pods are terminal; the node agent removes a terminal pod in a later write.
        await env.WaitUntilAsync(async () => (await env.PodsOfAsync("train-deadline")).Count == 0, "the deleted pod is gone once the node agent confirmed its termination");
    }

    [Fact]
    public async Task Lowering_the_active_deadline_of_a_running_job_to_zero_ends_it_and_keeps_the_job()
    {
        await using var env = await WorkloadCluster.StartAsync();
        await env.CreateAsync(WorkloadCluster.TrainerJob("train-ended", ["--epochs", "100", "--epoch_seconds", "1"], configure: s => s.ActiveDeadlineSeconds = 3600));
        await env.WaitForPodAsync("train-ended", p => p.Status?.Phase == "Running");
        await env.WaitUntilAsync(() => Task.FromResult(env.ProcessRunningWith("train-ended")), "the trainer runs");

        // activeDeadlineSeconds is mutable; upstream's updateJob re-queues the Job when it changes, and syncJob finds it past.
        await env.Client.BatchV1.PatchNamespacedJobAsync(new V1Patch("""{"spec":{"activeDeadlineSeconds":0}}""", V1Patch.PatchType.MergePatch), "train-ended", WorkloadCluster.Namespace);

        var job = await env.WaitForJobAsync("train-ended", j => j.Status?.Conditions?.Any(c => c.Type == "Failed") == true);
        job.Status.Conditions.Single(c => c.Type == "Failed").Reason.Should().Be("DeadlineExceeded");
        env.ProcessRunningWith("train-ended").Should().BeFalse("the Job controller deleted the running pod");
        await env.WaitUntilAsync(async () => (await env.PodsOfAsync("train-ended")).Count == 0, "the deleted pod is gone");
        (await env.Client.BatchV1.ReadNamespacedJobAsync("train-ended", WorkloadCluster.Namespace)).Metadata.DeletionTimestamp.Should().BeNull("the Job itself stays until its TTL");
    }

    [Fact]
    public async Task A_suspended_job_starts_nothing_until_it_is_resumed()
    {
        await using var env = await WorkloadCluster.StartAsync();
        await env.CreateAsync(WorkloadCluster.TrainerJob("train-suspend", ["--epochs", "1"], configure: s => s.Suspend = true));

        var suspended = await env.WaitForJobAsync("train-suspend", j => j.Status?.Conditions?.Any(c => c.Type == "Suspended") == true);
        var condition = suspended.Status.Conditions.Single(c => c.Type == "Suspended");
        (condition.Status, condition.Reason, condition.Message).Should().Be(("True", "JobSuspended", "Job suspended"));
        suspended.Status.StartTime.Should().BeNull();
        (await env.PodsOfAsync("train-suspend")).Should().BeEmpty();

        await env.Client.BatchV1.PatchNamespacedJobAsync(new V1Patch("{\"spec\":{\"suspend\":false}}", V1Patch.PatchType.MergePatch), "train-suspend", WorkloadCluster.Namespace);

        var done = await env.WaitForJobAsync("train-suspend", j => j.Status?.Conditions?.Any(c => c.Type == "Complete") == true);
        var resumed = done.Status.Conditions.Single(c => c.Type == "Suspended");
        (resumed.Status, resumed.Reason, resumed.Message).Should().Be(("False", "JobResumed", "Job resumed"));
        done.Status.StartTime.Should().NotBeNull();
    }

    [Fact]
    public async Task A_finished_job_is_deleted_after_its_ttl_together_with_its_pods()
    {
        await using var env = await WorkloadCluster.StartAsync();
        var created = await env.CreateAsync(WorkloadCluster.TrainerJob("train-ttl", ["--epochs", "1"], configure: s => s.TtlSecondsAfterFinished = 1));

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var events = new List<(WatchEventType Type, bool Complete)>();
        await foreach (var (type, job) in env.Client.BatchV1.WatchListNamespacedJobAsync(
            WorkloadCluster.Namespace, resourceVersion: created.Metadata.ResourceVersion, timeoutSeconds: 60, cancellationToken: timeout.Token))
        {
            events.Add((type, job.Status?.Conditions?.Any(c => c.Type == "Complete" && c.Status == "True") == true));
            if (type == WatchEventType.Deleted)
            {
                break;
            }
        }

        events.Should().Contain(e => e.Type == WatchEventType.Modified && e.Complete, "the job completed first");
        events[^1].Type.Should().Be(WatchEventType.Deleted);
        (await env.PodsOfAsync("train-ttl")).Should().BeEmpty("the TTL controller deletes with Foreground propagation");
    }
}
