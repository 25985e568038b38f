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

    /// <summary>
    /// Which node of a multi-node (distributed) run to read: its node rank, 0 to <c>Nodes - 1</c> (on Kubernetes the
    /// pod's completion index). <see langword="null"/> reads node 0, which holds global rank 0, the rank that prints
    /// progress. A run of one node has only node 0; a rank out of range is a validation error naming this property.
    /// </summary>
    public int? NodeRank { get; init; }
}
