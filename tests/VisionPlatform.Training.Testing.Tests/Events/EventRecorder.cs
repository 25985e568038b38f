namespace VisionPlatform.Training.Testing.Tests.Events;

/// <summary>Records a subscription's events in the background; the subscription is live when the constructor returns.</summary>
internal sealed class EventRecorder : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TrainingJobEvent> _events = [];
    private readonly Task _reading;

    public EventRecorder(ITrainingEventSource source, TrainingEventSubscription? subscription = null)
    {
        // ReadAsync runs synchronously up to its first wait, which registers the subscriber before this returns.
        _reading = ReadAsync(source.SubscribeAsync(subscription, _stop.Token));
    }

    public IReadOnlyList<TrainingJobEvent> Events
    {
        get
        {
            lock (_events)
            {
                return _events.ToArray();
            }
        }
    }

    /// <summary>Waits until the recorded events satisfy <paramref name="done"/>; fails with the events seen so far.</summary>
    public async Task<IReadOnlyList<TrainingJobEvent>> WaitForAsync(Func<IReadOnlyList<TrainingJobEvent>, bool> done, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var seen = Events;
            if (done(seen))
            {
                return seen;
            }

            if (_reading.IsCompleted)
            {
                await _reading;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The expected events did not arrive; seen: " + string.Join(" | ", seen));
            }

            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _reading;
        _stop.Dispose();
    }

    private async Task ReadAsync(IAsyncEnumerable<TrainingJobEvent> events)
    {
        try
        {
            await foreach (var item in events)
            {
                lock (_events)
                {
                    _events.Add(item);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }
}
