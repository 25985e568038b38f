using k8s.Models;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>The status of a distributed job's Indexed Job: its pods are ranks of one attempt, told apart by completion index.</summary>
public sealed class GroupStatusMapperTests
{
    private static readonly DateTime T0 = new(2026, 4, 26, 18, 0, 0, DateTimeKind.Utc);
    private static readonly TrainingRun Run = new("kubernetes", "job-42", "training/training-job-job-42");

    [Fact]
    public void Every_rank_running_is_one_running_attempt()
    {
        var status = Map(Job(active: 3), [Running(0), Running(1), Running(2)]);

        status.Phase.Should().Be(TrainingPhase.Running);
        status.Attempt.Should().Be(1);
        status.Message.Should().Contain("running on 3 nodes");
    }

    [Fact]
    public void Before_its_pods_are_in_view_a_group_counts_its_active_ranks_as_one_attempt()
    {
        var status = Map(Job(active: 3), []);

        status.Phase.Should().Be(TrainingPhase.Pending);
        status.Attempt.Should().Be(1);
    }

    [Fact]
    public void A_group_that_succeeded_after_its_pods_were_removed_is_still_one_attempt()
    {
        var job = Job(succeeded: 1, active: 2);
        job.Status.Conditions = [new V1JobCondition { Type = "SuccessCriteriaMet", Status = "True", Reason = "SuccessPolicy", LastTransitionTime = T0.AddMinutes(5) }];

        var status = Map(job, []);

        status.Phase.Should().Be(TrainingPhase.Succeeded);
        status.Attempt.Should().Be(1);
    }

    [Fact]
    public void The_group_is_pending_until_the_controller_created_every_ranks_pod()
    {
        var status = Map(Job(active: 2), [Running(0), Running(1)]);

        status.Phase.Should().Be(TrainingPhase.Pending);
        status.Reason.Should().Be(TrainingStatusReasons.Starting);
        status.Message.Should().Contain("2 of the 3 pods");
    }

    [Fact]
    public void A_rank_that_cannot_be_scheduled_keeps_the_group_pending_with_the_schedulers_message()
    {
        var waiting = Pod(1, "Pending");
        waiting.Status.Conditions = [new V1PodCondition { Type = "PodScheduled", Status = "False", Reason = "Unschedulable", Message = "0/2 nodes are available: 2 Insufficient nvidia.com/gpu." }];

        var status = Map(Job(active: 3), [Running(0), waiting, Running(2)]);

        status.Phase.Should().Be(TrainingPhase.Pending);
        status.Reason.Should().Be(TrainingStatusReasons.Unschedulable);
        status.Message.Should().Contain("Insufficient nvidia.com/gpu");
    }

    [Fact]
    public void A_failed_group_reports_the_exit_code_of_the_rank_that_failed_first()
    {
        var job = Job(failed: 2);
        job.Status.Conditions = [new V1JobCondition { Type = "Failed", Status = "True", Reason = "PodFailurePolicy", Message = "Container trainer for pod training/training-job-job-42-1-abcde failed with exit code 1 matching FailJob rule at index 2", LastTransitionTime = T0.AddMinutes(5) }];
        var first = Terminated(1, exitCode: 1, finished: T0.AddMinutes(2));
        var peer = Terminated(0, exitCode: 137, finished: T0.AddMinutes(3));

        var status = Map(job, [peer, first]);

        status.Phase.Should().Be(TrainingPhase.Failed);
        status.ExitCode.Should().Be(1);
        status.Attempt.Should().Be(1);
        PodGroup.FailedPod(CachedPod.OrderByCreation([CachedPod.Read(peer)!, CachedPod.Read(first)!]))!.Name.Should().Be(first.Metadata.Name);
    }

    [Fact]
    public void A_rank_replaced_after_a_disruption_is_a_second_attempt_of_that_rank()
    {
        var disrupted = Terminated(1, exitCode: 143, finished: T0.AddMinutes(1));
        var replacement = Running(1, created: T0.AddMinutes(2));

        var status = Map(Job(active: 3, failed: 1), [Running(0), disrupted, replacement, Running(2)]);

        status.Phase.Should().Be(TrainingPhase.Running);
        status.Attempt.Should().Be(2);
    }

    [Fact]
    public void A_group_whose_pod_was_disrupted_is_pending_with_the_group_restart_reason_naming_the_disrupted_pod()
    {
        var disrupted = Running(1);
        disrupted.Status.Conditions = [new V1PodCondition { Type = "DisruptionTarget", Status = "True", Reason = "EvictionByEvictionAPI" }];
        var left = Terminated(0, exitCode: DistributionStep.GroupRestartExitCode, finished: T0.AddMinutes(1));

        var status = Map(Job(active: 1, failed: null), [left, disrupted]);

        status.Phase.Should().Be(TrainingPhase.Pending);
        status.Reason.Should().Be(TrainingStatusReasons.GroupRestarting);
        status.Message.Should().Contain($"pod {disrupted.Metadata.Name} (node rank 1)").And.Contain("newest checkpoint");
        status.StartedAt.Should().NotBeNull("the run had started");
        status.Attempt.Should().Be(1);
    }

    [Fact]
    public void A_group_restart_whose_disrupted_pod_is_gone_still_explains_itself()
    {
        var status = Map(Job(active: 2), [Terminated(1, exitCode: DistributionStep.GroupRestartExitCode, finished: T0.AddMinutes(1)), Running(0, created: T0.AddMinutes(2)), Running(2)]);

        status.Phase.Should().Be(TrainingPhase.Pending);
        status.Reason.Should().Be(TrainingStatusReasons.GroupRestarting);
        status.Message.Should().Contain("one of its pods");
    }

    [Fact]
    public void Once_every_pod_of_a_restarted_group_is_replaced_it_runs_and_the_restart_is_no_attempt()
    {
        var later = T0.AddMinutes(2);
        var status = Map(
            Job(active: 3),
            [Terminated(0, exitCode: DistributionStep.GroupRestartExitCode, finished: T0.AddMinutes(1)), Terminated(2, exitCode: DistributionStep.GroupRestartExitCode, finished: T0.AddMinutes(1)),
             Running(0, created: later), Running(1, created: later), Running(2, created: later)]);

        status.Phase.Should().Be(TrainingPhase.Running);
        status.Attempt.Should().Be(1);
    }

    [Fact]
    public void A_one_node_group_whose_pod_was_disrupted_keeps_the_single_pod_status()
    {
        var job = Job(active: 1);
        job.Spec.Completions = 1;
        var disrupted = Terminated(0, exitCode: 143, finished: T0.AddMinutes(1));
        disrupted.Status.Conditions = [new V1PodCondition { Type = "DisruptionTarget", Status = "True" }];

        var status = Map(job, [disrupted]);

        status.Reason.Should().NotBe(TrainingStatusReasons.GroupRestarting, "a group of one node has no supervisor: its one pod is replaced");
        status.Phase.Should().Be(TrainingPhase.Pending);
    }

    [Fact]
    public void Success_of_rank_0_is_success_of_the_group()
    {
        var job = Job(succeeded: 1);
        job.Status.Conditions = [new V1JobCondition { Type = "SuccessCriteriaMet", Status = "True", Reason = "SuccessPolicy", LastTransitionTime = T0.AddMinutes(5) }];

        var status = Map(job, [Terminated(0, exitCode: 0, finished: T0.AddMinutes(4)), Running(1), Running(2)]);

        status.Phase.Should().Be(TrainingPhase.Succeeded);
        status.ExitCode.Should().Be(0);
    }

    private static TrainingRunStatus Map(V1Job job, IReadOnlyList<V1Pod> pods) =>
        KubernetesStatusMapper.Map(Run, job, pods, new DateTimeOffset(T0.AddMinutes(10)), new KubernetesExecutorOptions());

    private static V1Job Job(int? active = null, int? failed = null, int? succeeded = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = "training-job-job-42", NamespaceProperty = "training", CreationTimestamp = T0, Uid = "uid-1" },
        Spec = new V1JobSpec { CompletionMode = "Indexed", Completions = 3, Template = new V1PodTemplateSpec() },
        Status = new V1JobStatus { Active = active, Failed = failed, Succeeded = succeeded, StartTime = T0, Conditions = [] },
    };

    private static V1Pod Running(int index, DateTime? created = null)
    {
        var pod = Pod(index, "Running", created);
        pod.Status.ContainerStatuses = [new V1ContainerStatus { Name = "trainer", State = new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = T0.AddSeconds(5) } } }];
        return pod;
    }

    private static V1Pod Terminated(int index, int exitCode, DateTime finished)
    {
        var pod = Pod(index, exitCode == 0 ? "Succeeded" : "Failed");
        pod.Status.ContainerStatuses =
        [
            new V1ContainerStatus { Name = "trainer", State = new V1ContainerState { Terminated = new V1ContainerStateTerminated { ExitCode = exitCode, StartedAt = T0.AddSeconds(5), FinishedAt = finished, Reason = "Error" } } },
        ];
        return pod;
    }

    private static V1Pod Pod(int index, string phase, DateTime? created = null) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = $"training-job-job-42-{index}-{Guid.NewGuid():N}"[..28],
            CreationTimestamp = created ?? T0,
            Labels = new Dictionary<string, string> { ["batch.kubernetes.io/job-completion-index"] = index.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        },
        Status = new V1PodStatus { Phase = phase },
    };
}
