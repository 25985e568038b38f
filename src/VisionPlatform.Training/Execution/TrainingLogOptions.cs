namespace VisionPlatform.Training;

/// <summary>What part of a run's log to read, and whether to keep following it.</summary>
public sealed record TrainingLogOptions
{
    /// <summary>The whole log, no timestamps, not followed.</summary>
    public static TrainingLogOptions Default { get; } = new();

    /// <summary>Only the last N lines (applied before following).</summary>
    public int? TailLines { get; init; }

    /// <summary>Only lines written at or after this time.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Fill <see cref="TrainingLogLine.Timestamp"/> for each line.</summary>
    public bool Timestamps { get; init; }

    /// <summary>Keep streaming new lines until the run finishes and its log is drained.</summary>
    public bool Follow { get; init; }

    /// <summary>Read every attempt's log, not just the current attempt's (Kubernetes retries).</summary>
    public bool AllAttempts { get; init; }
}
