using k8s.Models;

namespace VisionPlatform.Training.Kubernetes.Tests;

public class KubernetesStatusMapperTests
{
    private static readonly DateTime T0 = new(2026, 4, 26, 18, 0, 0, DateTimeKind.Utc);
    private static readonly TrainingRun Run = new("kubernetes", "job-42", "training/training-job-job-42");
    private static readonly KubernetesExecutorOptions Options = new();

    [Fact]
    public void A_job_without_pods_is_pending_while_the_controller_creates_one()
    {
        var status = Map(Job(), []);
        status.Phase.Should().Be(TrainingPhase.Pending);
        status.Reason.Should().Be(TrainingStatusReasons.Starting);
        status.Attempt.Should().Be(1);
        status.CreatedAt.Should().Be(new DateTimeOffset(T0));
    }

    [Fact]
    public void An_unschedulable_pod_is_pending_with_the_schedulers_message()
    {
        var pod = Pod("Pending");
        pod.Status.Conditions = [new V1PodCondition { Type = "PodScheduled", Status = "False", Reason = "Unschedulable", Message = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu." }];
        var status = Map(Job(), [pod]);
        status.Phase.Should().Be(TrainingPhase.Pending);
        status.Reason.Should().Be(TrainingStatusReasons.Unschedulable);
        status.Message.Should().Contain("Insufficient nvidia.com/gpu");
    }

    [Theory]
    [InlineData("ErrImagePull")]
    [InlineData("ImagePullBackOff")]
    public void An_image_pull_failure_is_pending_with_the_image_then_failed_after_the_timeout(string reason)
    {
        var pod = Pod("Pending", waiting: new V1ContainerStateWaiting { Reason = reason, Message = "Back-off pulling image \"registry/trainer-x:1\"" });
        pod.Status.ContainerStatuses[0].Image = "registry/trainer-x:1";
        pod.Status.Conditions = [new V1PodCondition { Type = "PodScheduled", Status = "True", LastTransitionTime = T0 }];

        var early = Map(Job(), [pod], now: T0.AddMinutes(1));
        early.Phase.Should().Be(TrainingPhase.Pending);
        early.Reason.Should().Be(reason);
        early.Message.Should().Contain("registry/trainer-x:1");

        var late = Map(Job(), [pod], now: T0.AddMinutes(6));
        late.Phase.Should().Be(TrainingPhase.Failed);
        late.Reason.Should().Be(reason);
        late.IsTerminal.Should().BeTrue();
    }

    [Theory]
    [InlineData("ContainerCreating")]
    [InlineData("PodInitializing")]
    public void A_container_being_created_is_pending(string reason)
    {
        var status = Map(Job(), [Pod("Pending", waiting: new V1ContainerStateWaiting { Reason = reason })]);
        status.Phase.Should().Be(TrainingPhase.Pending);
        status.Reason.Should().Be(TrainingStatusReasons.ContainerCreating);
    }

    [Fact]
    public void A_failed_first_attempt_is_named_attempt_1_while_the_retry_is_not_in_view_yet()
    {
        // The Job already counts the retry (failed 1, active 1), but the pod watch has not delivered its pod yet.
        var failed = Pod("Failed", terminated: new V1ContainerStateTerminated { ExitCode = 1, Reason = "Error" });

        var status = Map(Job(active: 1, failed: 1), [failed]);

        status.Phase.Should().Be(TrainingPhase.Pending);
        status.Attempt.Should().Be(2, "the Job controller is starting the second attempt");
        status.Message.Should().StartWith("Attempt 1 failed with exit code 1 (Error)");
    }

    [Fact]
    public void A_suspended_job_is_pending_with_reason_suspended()
    {
        var job = Job();
        job.Spec.Suspend = true;
        job.Status.Conditions = [new V1JobCondition { Type = "Suspended", Status = "True", Reason = "JobSuspended", Message = "Job suspended" }];
        var status = Map(job, []);
        status.Phase.Should().Be(TrainingPhase.Pending);
        status.Reason.Should().Be(TrainingStatusReasons.Suspended);
    }

    [Fact]
    public void A_running_pod_is_running_with_its_start_time()
    {
        var pod = Pod("Running", running: new V1ContainerStateRunning { StartedAt = T0.AddSeconds(5) });
        var status = Map(Job(active: 1), [pod]);
        status.Phase.Should().Be(TrainingPhase.Running);
        status.Reason.Should().Be(TrainingStatusReasons.Running);
        status.StartedAt.Should().Be(new DateTimeOffset(T0.AddSeconds(5)));
    }

    [Fact]
    public void A_complete_job_succeeded_with_exit_code_0()
    {
        var job = Job(succeeded: 1);
        job.Status.CompletionTime = T0.AddMinutes(3);
        job.Status.Conditions = [Condition("SuccessCriteriaMet", "CompletionsReached"), Condition("Complete", "CompletionsReached")];
        var status = Map(job, [Pod("Succeeded", terminated: new V1ContainerStateTerminated { ExitCode = 0, Reason = "Completed", StartedAt = T0.AddSeconds(5) })]);
        status.Phase.Should().Be(TrainingPhase.Succeeded);
        status.Reason.Should().Be(TrainingStatusReasons.Completed);
        status.ExitCode.Should().Be(0);
        status.FinishedAt.Should().Be(new DateTimeOffset(T0.AddMinutes(3)));
    }

    [Fact]
    public void A_complete_job_whose_pod_is_not_in_view_still_reports_exit_code_0()
    {
        // The monitor's pod watch can lag its Job watch; the exit code of a completed Job is 0 by definition.
        var job = Job(succeeded: 1);
        job.Status.Conditions = [Condition("Complete", "CompletionsReached")];
        var status = Map(job, []);
        status.Phase.Should().Be(TrainingPhase.Succeeded);
        status.ExitCode.Should().Be(0);
    }

    [Fact]
    public void Success_criteria_met_is_already_succeeded()
    {
        var job = Job(succeeded: 1);
        job.Status.Conditions = [Condition("SuccessCriteriaMet", "CompletionsReached")];
        Map(job, []).Phase.Should().Be(TrainingPhase.Succeeded);
    }

    [Theory]
    [InlineData("BackoffLimitExceeded", "Job has reached the specified backoff limit", 1)]
    [InlineData("DeadlineExceeded", "Job was active longer than specified deadline", 143)]
    public void A_failed_job_reports_the_controllers_reason_and_the_exit_code(string reason, string message, int exitCode)
    {
        var job = Job(failed: 4);
        job.Status.Conditions = [Condition("FailureTarget", reason, message), Condition("Failed", reason, message)];
        var pods = Enumerable.Range(0, 4).Select(i => Pod("Failed", terminated: new V1ContainerStateTerminated { ExitCode = exitCode, Reason = "Error" }, created: T0.AddMinutes(i))).ToList();
        var status = Map(job, pods);
        status.Phase.Should().Be(TrainingPhase.Failed);
        status.Reason.Should().Be(reason);
        status.Message.Should().Contain(message).And.Contain($"exit code {exitCode}");
        status.ExitCode.Should().Be(exitCode);
        status.Attempt.Should().Be(4);
    }

    [Fact]
    public void A_failure_target_is_already_failed()
    {
        var job = Job(failed: 1);
        job.Status.Conditions = [Condition("FailureTarget", "PodFailurePolicy", "Container trainer for pod training/p failed with exit code 2 matching FailJob rule at index 0")];
        var status = Map(job, [Pod("Failed", terminated: new V1ContainerStateTerminated { ExitCode = 2, Reason = "Error" })]);
        status.Phase.Should().Be(TrainingPhase.Failed);
        status.Reason.Should().Be(TrainingStatusReasons.InvalidTrainerInput, "exit code 2 has the same reason on both executors");
        status.ExitCode.Should().Be(2);
        status.Message.Should().Contain("rejected its input").And.Contain("FailJob rule");
    }

    [Fact]
    public void Another_fail_job_exit_code_keeps_the_pod_failure_policy_reason()
    {
        var job = Job(failed: 1);
        job.Status.Conditions = [Condition("FailureTarget", "PodFailurePolicy", "Container trainer for pod training/p failed with exit code 3 matching FailJob rule at index 0")];
        var options = new KubernetesExecutorOptions();
        options.Job.FailJobExitCodes = [2, 3];
        var status = KubernetesStatusMapper.Map(Run, job, [Pod("Failed", terminated: new V1ContainerStateTerminated { ExitCode = 3, Reason = "Error" })], new DateTimeOffset(T0.AddMinutes(5)), options);
        status.Reason.Should().Be(TrainingStatusReasons.PodFailurePolicy);
        status.ExitCode.Should().Be(3);
        status.Message.Should().Contain("rejected its input");
    }

    [Fact]
    public void An_oom_killed_trainer_is_reported_as_oom_killed()
    {
        var job = Job(failed: 4);
        job.Status.Conditions = [Condition("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit")];
        var status = Map(job, [Pod("Failed", terminated: new V1ContainerStateTerminated { ExitCode = 137, Reason = "OOMKilled" })]);
        status.Phase.Should().Be(TrainingPhase.Failed);
        status.Reason.Should().Be(TrainingStatusReasons.OomKilled);
        status.ExitCode.Should().Be(137);
        status.Message.Should().Contain("memory limit");
    }

    [Fact]
    public void A_failed_attempt_with_retries_left_is_pending_and_counts_attempts()
    {
        var pods = new List<V1Pod> { Pod("Failed", terminated: new V1ContainerStateTerminated { ExitCode = 1, Reason = "Error" }) };
        var status = Map(Job(failed: 1), pods);
        status.Phase.Should().Be(TrainingPhase.Pending);
        status.Message.Should().Contain("exit code 1");

        pods.Add(Pod("Running", running: new V1ContainerStateRunning { StartedAt = T0.AddMinutes(2) }, created: T0.AddMinutes(2)));
        var retry = Map(Job(failed: 1, active: 1), pods);
        retry.Phase.Should().Be(TrainingPhase.Running);
        retry.Attempt.Should().Be(2);
    }

    [Fact]
    public void An_unfinished_job_being_deleted_is_stopped_a_finished_one_keeps_its_outcome()
    {
        var job = Job(active: 1);
        job.Metadata.DeletionTimestamp = T0.AddMinutes(1);
        Map(job, []).Phase.Should().Be(TrainingPhase.Stopped);

        var done = Job(succeeded: 1);
        done.Status.Conditions = [Condition("Complete", "CompletionsReached")];
        done.Metadata.DeletionTimestamp = T0.AddMinutes(6);
        Map(done, []).Phase.Should().Be(TrainingPhase.Succeeded, "the TTL controller deletes finished Jobs; that is no stop");
    }

    [Fact]
    public void A_stop_recorded_on_the_job_is_stopped_with_its_time_and_reason_while_and_after_the_controller_ends_it()
    {
        var job = Job(active: 1);
        job.Metadata.Annotations = new Dictionary<string, string>
        {
            [KubernetesLabels.StopRequestedAnnotation] = "2026-04-26T18:02:00Z",
            [KubernetesLabels.StopReasonAnnotation] = TrainingStatusReasons.StoppedByUser,
        };
        var running = Map(job, [Pod("Running", running: new V1ContainerStateRunning { StartedAt = T0.AddSeconds(30) })]);

        // The controller then fails the Job with DeadlineExceeded and deletes the pod: still the same stop.
        job.Status.Active = null;
        job.Status.Failed = 1;
        job.Status.Conditions = [Condition("FailureTarget", "DeadlineExceeded"), Condition("Failed", "DeadlineExceeded")];
        var ended = Map(job, []);

        foreach (var status in new[] { running, ended })
        {
            status.Phase.Should().Be(TrainingPhase.Stopped);
            status.Reason.Should().Be(TrainingStatusReasons.StoppedByUser);
            status.FinishedAt.Should().Be(new DateTimeOffset(T0.AddMinutes(2)));
            status.ExitCode.Should().BeNull();
            status.StartedAt.Should().Be(new DateTimeOffset(T0), "the Job's start, not the pod's, which goes away with the pod");
        }

        ended.Message.Should().Be(running.Message, "a stop reads the same on every host and at every step");
    }

    [Fact]
    public void A_run_that_completed_before_its_stop_took_effect_succeeded()
    {
        var job = Job(succeeded: 1);
        job.Metadata.Annotations = new Dictionary<string, string> { [KubernetesLabels.StopRequestedAnnotation] = "2026-04-26T18:02:00Z" };
        job.Status.Conditions = [Condition("Complete", "CompletionsReached")];
        Map(job, []).Phase.Should().Be(TrainingPhase.Succeeded);
    }

    private static TrainingRunStatus Map(V1Job job, IReadOnlyList<V1Pod> pods, DateTime? now = null) =>
        KubernetesStatusMapper.Map(Run, job, pods, new DateTimeOffset(now ?? T0.AddMinutes(1)), Options);

    private static V1Job Job(int? active = null, int? failed = null, int? succeeded = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = "training-job-job-42", NamespaceProperty = "training", CreationTimestamp = T0, Uid = "uid-1" },
        Spec = new V1JobSpec { Template = new V1PodTemplateSpec() },
        Status = new V1JobStatus { Active = active, Failed = failed, Succeeded = succeeded, StartTime = T0, Conditions = [] },
    };

    private static V1JobCondition Condition(string type, string reason, string? message = null) =>
        new() { Type = type, Status = "True", Reason = reason, Message = message, LastTransitionTime = T0.AddMinutes(5) };

    private static V1Pod Pod(
        string phase,
        V1ContainerStateWaiting? waiting = null,
        V1ContainerStateRunning? running = null,
        V1ContainerStateTerminated? terminated = null,
        DateTime? created = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = $"training-job-job-42-{Guid.NewGuid():N}"[..30], CreationTimestamp = created ?? T0 },
        Status = new V1PodStatus
        {
            Phase = phase,
            ContainerStatuses = waiting is null && running is null && terminated is null
                ? null
                : [new V1ContainerStatus { Name = "trainer", State = new V1ContainerState { Waiting = waiting, Running = running, Terminated = terminated } }],
        },
    };
}
