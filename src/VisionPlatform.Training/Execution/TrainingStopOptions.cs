namespace VisionPlatform.Training;

/// <summary>How to stop a run.</summary>
public sealed record TrainingStopOptions
{
    /// <summary>Stop with the executor's configured grace period.</summary>
    public static TrainingStopOptions Default { get; } = new();

    /// <summary>
    /// How long the trainer gets after SIGTERM to write a checkpoint and exit before it is killed;
    /// <see langword="null"/> uses the executor's configured default.
    /// </summary>
    public TimeSpan? GracePeriod { get; init; }
}
