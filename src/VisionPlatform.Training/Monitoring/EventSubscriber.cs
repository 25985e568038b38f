namespace VisionPlatform.Training;

/// <summary>
/// One subscriber's bounded buffer. Writers never wait: when the buffer is full the oldest event is dropped (and a
/// <see cref="TrainingEventsDroppedEvent"/> is delivered in its place) or the subscription is ended, by policy.
/// </summary>
internal sealed class EventSubscriber(TrainingEventSubscription options, TimeProvider time)
{
    private readonly object _gate = new();
    private readonly Queue<TrainingJobEvent> _queue = new();
    private long _dropped;
    private bool _overflowed;
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

            if (_queue.Count >= Options.BufferCapacity)
            {
                if (Options.OverflowPolicy == TrainingEventOverflowPolicy.Disconnect)
                {
                    // The buffered events and this one are never delivered.
                    lost = _queue.Count + 1;
                    _overflowed = true;
                    _queue.Clear();
                }
                else
                {
                    _queue.Dequeue();
                    _dropped++;
                    lost = 1;
                }
            }

            if (!_overflowed)
            {
                _queue.Enqueue(item);
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
                        $"The event subscription fell more than {Options.BufferCapacity} events behind (TrainingEventSubscription.BufferCapacity) and was ended by its overflow policy Disconnect; subscribe again and re-read the runs' status.");
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
                    return next;
                }

                _waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _waiter.Task;
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
