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
        container.Image = context.JobOptions.Image
            ?? context.Framework?.Image
            ?? options.Image.ForFramework(context.Config.Framework.Value);
        container.ImagePullPolicy = options.Image.PullPolicy;
        container.Command = options.EffectiveCommand.ToList();
        container.Args = context.Invocation.Arguments.ToList();

        var pod = context.Pod;
        if (options.Image.PullSecrets.Count > 0)
        {
            pod.ImagePullSecrets = options.Image.PullSecrets.Select(name => new V1LocalObjectReference { Name = name }).ToList();
        }

        pod.ServiceAccountName = string.IsNullOrEmpty(options.ServiceAccountName) ? null : options.ServiceAccountName;
        pod.PriorityClassName = string.IsNullOrEmpty(options.PriorityClassName) ? null : options.PriorityClassName;
        pod.AutomountServiceAccountToken = options.Security.AutomountServiceAccountToken;
    }
}
