namespace VisionPlatform.Training;

/// <summary>
/// One subscriber's bounded buffer, bounded in events (<see cref="TrainingEventSubscription.BufferCapacity"/>) and in
/// estimated bytes (<c>Training:Events:MaxBufferedBytesPerSubscriber</c>). Writers never wait: when either bound is passed
/// the oldest events are dropped (and a <see cref="TrainingEventsDroppedEvent"/> is delivered in their place) or the
/// subscription is ended, by policy.
/// </summary>
internal sealed class EventSubscriber(TrainingEventSubscription options, TimeProvider time, long maxBufferedBytes = TrainingEventOptions.DefaultMaxBufferedBytesPerSubscriber)
{
    /// <summary>What an event costs besides its text: the object, its run handle and the queue slot.</summary>
    private const long EventOverhead = 256;

    private readonly object _gate = new();
    private readonly Queue<(TrainingJobEvent Event, long Bytes)> _queue = new();
    private long _bytes;
    private long _dropped;
    private bool _overflowed;
    private bool _overflowedOnBytes;
    private TaskCompletionSource? _waiter;

    public TrainingEventSubscription Options { get; } = options;

    /// <summary>Buffers an event without waiting.</summary>
    /// <returns>How many events this subscriber lost to its overflow policy because of this one (for the metrics).</returns>
    public long Offer(TrainingJobEvent item)
    {
        TaskCompletionSource? wake;
        long lost = 0;
        lock (_gate)
        {
            if (_overflowed)
            {
                return 0;
            }

            var size = SizeOf(item);
            if (_queue.Count >= Options.BufferCapacity || _bytes + size > maxBufferedBytes)
            {
                if (Options.OverflowPolicy == TrainingEventOverflowPolicy.Disconnect)
                {
                    // The buffered events and this one are never delivered.
                    lost = _queue.Count + 1;
                    _overflowed = true;
                    _overflowedOnBytes = _queue.Count < Options.BufferCapacity;
                    _queue.Clear();
                    _bytes = 0;
                }
                else
                {
                    // Drop from the head until this one fits, in count and in bytes.
                    while (_queue.Count > 0 && (_queue.Count >= Options.BufferCapacity || _bytes + size > maxBufferedBytes))
                    {
                        _bytes -= _queue.Dequeue().Bytes;
                        _dropped++;
                        lost++;
                    }
                }
            }

            if (!_overflowed)
            {
                _queue.Enqueue((item, size));
                _bytes += size;
            }

            wake = _waiter;
            _waiter = null;
        }

        wake?.TrySetResult();
        return lost;
    }

    /// <summary>Takes the next event, waiting when there is none.</summary>
    public async ValueTask<TrainingJobEvent> TakeAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_gate)
            {
                if (_overflowed)
                {
                    throw new TrainingException(
                        TrainingErrorCode.SubscriberOverflow,
                        _overflowedOnBytes
                            ? FormattableString.Invariant($"The event subscription fell more than {maxBufferedBytes} bytes of events behind (Training:Events:MaxBufferedBytesPerSubscriber) and was ended by its overflow policy Disconnect; subscribe again and re-read the runs' status.")
                            : FormattableString.Invariant($"The event subscription fell more than {Options.BufferCapacity} events behind (TrainingEventSubscription.BufferCapacity) and was ended by its overflow policy Disconnect; subscribe again and re-read the runs' status."));
                }

                if (_dropped > 0)
                {
                    // Drops remove the head of the queue, so the marker goes exactly where the missing events were.
                    var dropped = new TrainingEventsDroppedEvent { Timestamp = time.GetUtcNow(), Count = _dropped };
                    _dropped = 0;
                    return dropped;
                }

                if (_queue.TryDequeue(out var next))
                {
                    _bytes -= next.Bytes;
                    return next.Event;
                }

                _waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _waiter.Task;
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>An estimate of what an event holds in memory: its text at two bytes a character plus a fixed overhead.</summary>
    internal static long SizeOf(TrainingJobEvent item) => EventOverhead + (2L * item switch
    {
        TrainingLogEvent log => log.Line.Text?.Length ?? 0,
        TrainingPhaseChangedEvent phase => (phase.Status.Message?.Length ?? 0) + (phase.Status.Reason?.Length ?? 0) + (phase.Status.Progress?.Metrics?.Count ?? 0) * 32,
        TrainingProgressEvent progress => (progress.Progress.Metrics?.Count ?? 0) * 32,
        TrainingFallbackEvent fallback => (fallback.Reason?.Length ?? 0) + (fallback.RequestedExecutor?.Length ?? 0),
        TrainingArtifactUploadEvent upload => upload.Upload.Message?.Length ?? 0,
        _ => 0,
    });
}
