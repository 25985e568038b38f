namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// A run's status from its compact records: <see cref="KubernetesStatusMapper"/>, then the failed trainer's last log lines
/// and the cost. The monitor projects its cache through it and the executor projects what it read directly through it,
/// so a status never depends on which of the two answered.
/// </summary>
internal sealed class RunStatusProjection(KubernetesExecutorOptions options, TrainingCostCalculator? costs)
{
    private readonly TrainingCostCalculator _costs = costs ?? TrainingCostCalculator.Unpriced;

    public KubernetesExecutorOptions Options => options;

    /// <param name="job">The Job.</param>
    /// <param name="pods">Its pods, in any order.</param>
    /// <param name="now">The time.</param>
    /// <param name="failureTail">The failed trainer's last log lines, once read; null when not (yet) known.</param>
    /// <param name="removedAt">When the Job disappeared from the API, or null while it exists.</param>
    public TrainingRunStatus Project(CachedJob job, IReadOnlyList<CachedPod> pods, DateTimeOffset now, string? failureTail, DateTimeOffset? removedAt = null)
    {
        var status = KubernetesStatusMapper.Map(job, pods, now, options, removedAt);
        if (status.Phase == TrainingPhase.Failed && TerminationMessage(pods) is { } termination)
        {
            // The container's termination message (FallbackToLogsOnError: its log's tail) says why, without a log read.
            status = status with { Message = $"{status.Message}{Environment.NewLine}Termination message:{Environment.NewLine}{termination}" };
        }
        else if (status.Phase == TrainingPhase.Failed && !string.IsNullOrEmpty(failureTail))
        {
            status = status with { Message = $"{status.Message}{Environment.NewLine}Last log lines:{Environment.NewLine}{failureTail}" };
        }

        return _costs.WithCost(status, job.Gpus, job.CpuRequest);
    }

    /// <summary>The failed pod's termination message, when its container left one.</summary>
    public static string? TerminationMessage(IReadOnlyList<CachedPod> pods) =>
        pods.Count == 0 ? null : PodGroup.FailedPod(CachedPod.OrderByCreation(pods))?.TerminationMessage;
}
