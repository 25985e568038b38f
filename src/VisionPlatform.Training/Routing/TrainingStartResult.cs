namespace VisionPlatform.Training;

/// <summary>The outcome of a start through the <see cref="TrainingExecutorManager"/>: the run and where it went, and why.</summary>
public sealed record TrainingStartResult
{
    /// <summary>The run's handle; <see cref="TrainingRun.ExecutorName"/> equals <see cref="ExecutorUsed"/>.</summary>
    public required TrainingRun Run { get; init; }

    /// <summary>The executor the request asked for (the request's override or <c>Training:DefaultExecutor</c>).</summary>
    public required string RequestedExecutor { get; init; }

    /// <summary>The executor that runs the job.</summary>
    public string ExecutorUsed => Run.ExecutorName;

    /// <summary>Whether the job runs on a fallback executor because the requested one was unavailable.</summary>
    public bool IsFallback { get; init; }

    /// <summary>
    /// Why the job does not run on <see cref="RequestedExecutor"/>: the fallback reason, or that an earlier start of the
    /// same job id already runs on <see cref="ExecutorUsed"/>. <see langword="null"/> when it runs where requested.
    /// </summary>
    public string? FallbackReason { get; init; }
}
