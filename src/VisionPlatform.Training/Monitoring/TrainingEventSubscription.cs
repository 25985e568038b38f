namespace VisionPlatform.Training;

/// <summary>What a subscription receives and how it copes with falling behind.</summary>
public sealed record TrainingEventSubscription
{
    /// <summary>The default buffer size per subscriber.</summary>
    public const int DefaultBufferCapacity = 1024;

    /// <summary>Only events of the run with this job id; <see langword="null"/> for all runs.</summary>
    public string? JobId { get; init; }

    /// <summary>
    /// Start with the current state: one <see cref="TrainingPhaseChangedEvent"/> per matching run the SDK tracks (for a
    /// single job id, its status even when terminal), then the live events that follow it, without duplicates (default).
    /// </summary>
    public bool IncludeCurrentState { get; init; } = true;

    /// <summary>Receive <see cref="TrainingProgressEvent"/>s (default). Executors read the trainer's log only while someone wants them.</summary>
    public bool IncludeProgress { get; init; } = true;

    /// <summary>Receive every log line as a <see cref="TrainingLogEvent"/> (default off: logs are large).</summary>
    public bool IncludeLogs { get; init; }

    /// <summary>How many undelivered events the subscriber may hold (default <see cref="DefaultBufferCapacity"/>, 16 to 1,048,576).</summary>
    public int BufferCapacity { get; init; } = DefaultBufferCapacity;

    /// <summary>What happens when the buffer is full (default <see cref="TrainingEventOverflowPolicy.DropOldest"/>).</summary>
    public TrainingEventOverflowPolicy OverflowPolicy { get; init; } = TrainingEventOverflowPolicy.DropOldest;

    internal bool Matches(string jobId) => JobId is null || string.Equals(JobId, jobId, StringComparison.Ordinal);
}

/// <summary>
/// What a full subscriber buffer does. Publishing never waits for a subscriber: a slow subscriber loses events, never
/// slows others or grows memory without bound.
/// </summary>
public enum TrainingEventOverflowPolicy
{
    /// <summary>Drop the oldest undelivered events and deliver a <see cref="TrainingEventsDroppedEvent"/> in their place.</summary>
    DropOldest,

    /// <summary>End the subscription: the enumeration throws <see cref="TrainingException"/> with <see cref="TrainingErrorCode.SubscriberOverflow"/>.</summary>
    Disconnect,
}
