namespace VisionPlatform.Training;

/// <summary>
/// Limits of the event hub (<c>Training:Events</c>), so subscribers cannot take the host's memory: how many subscriptions
/// may be open at once, and how many bytes of undelivered events one subscriber may hold (besides its
/// <see cref="TrainingEventSubscription.BufferCapacity"/> in events). Validated at start-up, naming the key.
/// </summary>
public sealed class TrainingEventOptions
{
    /// <summary>The default <see cref="MaxSubscribers"/>.</summary>
    public const int DefaultMaxSubscribers = 1000;

    /// <summary>The default <see cref="MaxBufferedBytesPerSubscriber"/> (8 MiB).</summary>
    public const long DefaultMaxBufferedBytesPerSubscriber = 8L * 1024 * 1024;

    /// <summary>The smallest <see cref="MaxBufferedBytesPerSubscriber"/>: two log lines of the longest kept length.</summary>
    public const long MinBufferedBytesPerSubscriber = 4L * TrainingLogLine.MaxLineBytes;

    /// <summary>
    /// How many subscriptions may be open at once (default 1,000; 1 to 100,000). One more fails when it is enumerated with
    /// <see cref="TrainingException"/> code <see cref="TrainingErrorCode.SubscriberLimitReached"/>.
    /// </summary>
    public int MaxSubscribers { get; set; } = DefaultMaxSubscribers;

    /// <summary>
    /// How many bytes of undelivered events one subscriber may hold (default 8 MiB; 4 MiB to 1 GiB), estimated from the
    /// events' text (a log line counts two bytes a character). Past it the subscription's
    /// <see cref="TrainingEventSubscription.OverflowPolicy"/> applies, as when its event count is full: the oldest events
    /// are dropped with a <see cref="TrainingEventsDroppedEvent"/> in their place, or the subscription ends with
    /// <see cref="TrainingErrorCode.SubscriberOverflow"/>.
    /// </summary>
    public long MaxBufferedBytesPerSubscriber { get; set; } = DefaultMaxBufferedBytesPerSubscriber;
}
