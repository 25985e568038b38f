using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// The trainer container: image (job, framework or pattern), pull policy and secrets, and the command from options
/// followed by the trainer contract's arguments, each one list element (never a shell string).
/// </summary>
internal sealed class ContainerStep : IJobBuildStep
{
    public void Apply(JobBuildContext context)
    {
        var options = context.Options;
        var container = context.Container;
        container.Image = context.Framework?.Image ?? options.Image.ForFramework(context.FrameworkName);
        container.ImagePullPolicy = options.Image.PullPolicy;

        // A trainer that fails without writing /dev/termination-log leaves the tail of its log as the termination message
        // (the kubelet keeps at most 2,048 bytes or 80 lines), so the failure's cause outlives the log itself.
        container.TerminationMessagePolicy = "FallbackToLogsOnError";
        container.Command = [.. options.EffectiveCommand];
        SetImageOverrideAndArguments(context);

        var pod = context.Pod;
        if (options.Image.PullSecrets.Count > 0)
        {
            pod.ImagePullSecrets = options.Image.PullSecrets.Select(name => new V1LocalObjectReference { Name = name }).ToList();
        }

        pod.ServiceAccountName = string.IsNullOrEmpty(options.ServiceAccountName) ? null : options.ServiceAccountName;
        pod.PriorityClassName = string.IsNullOrEmpty(options.PriorityClassName) ? null : options.PriorityClassName;
        pod.AutomountServiceAccountToken = options.Security.AutomountServiceAccountToken;
    }

    /// <summary>The job's own image, if it has one, and the trainer contract's arguments.</summary>
    public void ApplyJobParts(JobBuildContext context, JobTemplate template) => SetImageOverrideAndArguments(context);

    private static void SetImageOverrideAndArguments(JobBuildContext context)
    {
        var container = context.Container;
        container.Image = context.JobOptions.Image ?? container.Image;
        container.Args = [.. context.Invocation.Arguments];

        // A run's own pod PriorityClass (an invalid one is reported by the metadata step, named by its option).
        if (context.JobOptions.PriorityClassName is { } priority && (priority.Length == 0 || NameSyntax.IsDnsSubdomain(priority)))
        {
            context.Pod.PriorityClassName = priority.Length == 0 ? null : priority;
        }
    }
}
