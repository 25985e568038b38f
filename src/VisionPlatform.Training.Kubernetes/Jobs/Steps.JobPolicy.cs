using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Retries and clean-up: backoffLimit, activeDeadlineSeconds, ttlSecondsAfterFinished, restartPolicy Never, and a
/// podFailurePolicy that fails the Job at once on the trainer's bad-input exit codes and does not count disruptions.
/// </summary>
internal sealed class JobPolicyStep : IJobBuildStep
{
    /// <summary>Nothing: this part depends on options only.</summary>
    public void ApplyJobParts(JobBuildContext context, JobTemplate template)
    {
    }

    public void Apply(JobBuildContext context)
    {
        var policy = context.Options.Job;
        var spec = context.Job.Spec;
        spec.BackoffLimit = policy.BackoffLimit;
        spec.ActiveDeadlineSeconds = policy.ActiveDeadlineSeconds;
        spec.TtlSecondsAfterFinished = policy.TtlSecondsAfterFinished;
        context.Pod.RestartPolicy = "Never";
        context.Pod.TerminationGracePeriodSeconds = (long)policy.TerminationGracePeriod.TotalSeconds;

        var rules = new List<V1PodFailurePolicyRule>();
        var exitCodes = policy.EffectiveFailJobExitCodes;
        if (exitCodes.Count > 0)
        {
            rules.Add(new V1PodFailurePolicyRule
            {
                Action = "FailJob",
                OnExitCodes = new V1PodFailurePolicyOnExitCodesRequirement
                {
                    ContainerName = TrainingJobSpecBuilder.ContainerName,
                    OperatorProperty = "In",
                    Values = exitCodes.ToList(),
                },
            });
        }

        if (policy.IgnoreDisruptions)
        {
            rules.Add(new V1PodFailurePolicyRule
            {
                Action = "Ignore",
                OnPodConditions = [new V1PodFailurePolicyOnPodConditionsPattern { Type = "DisruptionTarget", Status = "True" }],
            });
        }

        if (rules.Count > 0)
        {
            spec.PodFailurePolicy = new V1PodFailurePolicy { Rules = rules };
        }
    }
}
