using k8s.Models;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>
/// The trainer container is rendered with <c>terminationMessagePolicy: FallbackToLogsOnError</c>, and a Failed status
/// carries the container's termination message when the kubelet filled one (no log read needed then).
/// </summary>
public sealed class TerminationMessageTests
{
    private static readonly DateTime T0 = new(2026, 12, 7, 10, 0, 0, DateTimeKind.Utc);
    private static readonly TrainingRun Run = new("kubernetes", "job-9", "training/training-job-job-9");

    [Fact]
    public void The_trainer_container_falls_back_to_its_log_for_the_termination_message()
    {
        var job = new TrainingJobSpecBuilder(Jobs.Options(), new VisionPlatform.Training.Trainers.FlagTrainerContract()).Build(Jobs.Config("job-9").Build());

        job.Spec.Template.Spec.Containers.Single(c => c.Name == TrainingJobSpecBuilder.ContainerName).TerminationMessagePolicy.Should().Be("FallbackToLogsOnError");
    }

    [Fact]
    public void A_failed_status_uses_the_termination_message_when_present_and_the_log_tail_otherwise()
    {
        var projection = new RunStatusProjection(new KubernetesExecutorOptions(), costs: null);
        var job = CachedJob.From(FailedJob(), Run, "nvidia.com/gpu");
        var withMessage = Pod(message: "Traceback (most recent call last):\nValueError: bad label file\n");
        var withoutMessage = Pod(message: null);

        var status = projection.Project(job, [withMessage], new DateTimeOffset(T0.AddMinutes(6)), failureTail: "from the log");
        status.Phase.Should().Be(TrainingPhase.Failed);
        status.Message.Should().Contain("Termination message:").And.Contain("ValueError: bad label file").And.NotContain("from the log");
        RunStatusProjection.TerminationMessage([withMessage]).Should().NotBeNull("no log tail needs to be read");

        var fallback = projection.Project(job, [withoutMessage], new DateTimeOffset(T0.AddMinutes(6)), failureTail: "from the log");
        fallback.Message.Should().Contain("Last log lines:").And.Contain("from the log").And.NotContain("Termination message");
        RunStatusProjection.TerminationMessage([withoutMessage]).Should().BeNull();

        var huge = Pod(message: new string('x', 100_000) + "END");
        RunStatusProjection.TerminationMessage([huge]).Should().HaveLength(CachedPod.MaxTerminationMessageChars).And.EndWith("END");
    }

    private static V1Job FailedJob() => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = "training-job-job-9",
            NamespaceProperty = "training",
            CreationTimestamp = T0,
            Uid = Guid.NewGuid().ToString(),
            Annotations = new Dictionary<string, string> { [KubernetesLabels.JobIdAnnotation] = "job-9" },
        },
        Spec = new V1JobSpec { Template = new V1PodTemplateSpec() },
        Status = new V1JobStatus
        {
            Failed = 1,
            StartTime = T0,
            Conditions =
            [
                new V1JobCondition { Type = "Failed", Status = "True", Reason = "BackoffLimitExceeded", Message = "Job has reached the specified backoff limit", LastTransitionTime = T0.AddMinutes(5) },
            ],
        },
    };

    private static CachedPod Pod(string? message)
    {
        var pod = new V1Pod
        {
            Metadata = new V1ObjectMeta
            {
                Name = "training-job-job-9-abcde",
                CreationTimestamp = T0,
                Labels = new Dictionary<string, string> { ["batch.kubernetes.io/job-name"] = "training-job-job-9" },
            },
            Status = new V1PodStatus
            {
                Phase = "Failed",
                ContainerStatuses =
                [
                    new V1ContainerStatus
                    {
                        Name = TrainingJobSpecBuilder.ContainerName,
                        State = new V1ContainerState { Terminated = new V1ContainerStateTerminated { ExitCode = 1, Reason = "Error", Message = message, StartedAt = T0, FinishedAt = T0.AddMinutes(4) } },
                    },
                ],
            },
        };
        return CachedPod.From(pod, out _)!;
    }
}
