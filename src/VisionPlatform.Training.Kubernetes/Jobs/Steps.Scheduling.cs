using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>GPU tolerations and node selector, only for jobs that request GPUs.</summary>
internal sealed class SchedulingStep : IJobBuildStep
{
    /// <summary>Nothing: this part depends on options and on whether the job uses GPUs, which selects the template.</summary>
    public void ApplyJobParts(JobBuildContext context, JobTemplate template)
    {
    }

    public void Apply(JobBuildContext context)
    {
        if (!context.UsesGpus)
        {
            return;
        }

        var gpu = context.Options.Gpu;
        var tolerations = gpu.EffectiveTolerations.Select(t => new V1Toleration
        {
            Key = string.IsNullOrEmpty(t.Key) ? null : t.Key,
            OperatorProperty = string.IsNullOrEmpty(t.Operator) ? null : t.Operator,
            Value = string.IsNullOrEmpty(t.Value) ? null : t.Value,
            Effect = string.IsNullOrEmpty(t.Effect) ? null : t.Effect,
            TolerationSeconds = t.TolerationSeconds,
        }).ToList();
        context.Pod.Tolerations = tolerations.Count > 0 ? tolerations : null;

        var selector = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in gpu.NodeSelector.Where(p => !string.IsNullOrEmpty(p.Value)))
        {
            selector[key] = value;
        }

        context.Pod.NodeSelector = selector.Count > 0 ? selector : null;
    }
}
