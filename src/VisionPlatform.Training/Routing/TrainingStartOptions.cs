namespace VisionPlatform.Training;

/// <summary>Per-request choices for <see cref="TrainingClient.StartAsync(TrainingJobConfig, TrainingStartOptions?, CancellationToken)"/>.</summary>
public sealed record TrainingStartOptions
{
    /// <summary>The executor to run the job on; <see langword="null"/> for <c>Training:DefaultExecutor</c>.</summary>
    public string? Executor { get; init; }

    /// <summary>
    /// Never move this job to a fallback executor: when the requested executor is unavailable the start fails with
    /// <see cref="TrainingErrorCode.ExecutorUnavailable"/> (for example for a job that must run on the cluster).
    /// </summary>
    public bool NoFallback { get; init; }
}
