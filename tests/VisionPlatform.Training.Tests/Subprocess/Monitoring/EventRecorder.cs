namespace VisionPlatform.Training.Tests.Subprocess.Monitoring;

/// <summary>Subscribes at once (the subscriber is registered when the constructor returns) and records every event.</summary>
internal sealed class EventRecorder : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly List<TrainingJobEvent> _events = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly IAsyncEnumerator<TrainingJobEvent> _enumerator;
    private readonly Task _pump;

    public EventRecorder(ITrainingEventSource source, TrainingEventSubscription subscription)
    {
        _enumerator = source.SubscribeAsync(subscription, _stop.Token).GetAsyncEnumerator(_stop.Token);

        // The first MoveNextAsync runs the subscription up to its first wait, which registers the subscriber.
        _pump = PumpAsync(_enumerator.MoveNextAsync());
    }

    public List<TrainingJobEvent> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }

    public Exception? Failure { get; private set; }

    public List<T> OfRun<T>(string jobId)
        where T : TrainingRunEvent =>
        Events.OfType<T>().Where(e => e.JobId == jobId).ToList();

    public async Task<T> WaitForAsync<T>(Func<T, bool> condition, string what)
        where T : TrainingJobEvent
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            if (Events.OfType<T>().FirstOrDefault(condition) is { } found)
            {
                return found;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"No event: {what}. Seen: {string.Join("; ", Events.Select(Describe))}");
            }

            await Task.Delay(50);
        }
    }

    public Task<TrainingPhaseChangedEvent> WaitForPhaseAsync(string jobId, TrainingPhase phase) =>
        WaitForAsync<TrainingPhaseChangedEvent>(e => e.JobId == jobId && e.Status.Phase == phase, $"{jobId} {phase}");

    public static string Describe(TrainingJobEvent e) => e switch
    {
        TrainingPhaseChangedEvent p => $"{p.JobId}#{p.Sequence} phase {p.Status.Phase}/{p.Status.Reason}",
        TrainingProgressEvent p => $"{p.JobId}#{p.Sequence} progress {p.Progress.Epoch}/{p.Progress.TotalEpochs}",
        TrainingLogEvent l => $"{l.JobId}#{l.Sequence} log {l.Line.Text}",
        _ => e.GetType().Name,
    };

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _pump;
        await _enumerator.DisposeAsync();
        _stop.Dispose();
    }

    private async Task PumpAsync(ValueTask<bool> first)
    {
        try
        {
            if (!await first)
            {
                return;
            }

            Add(_enumerator.Current);
            while (await _enumerator.MoveNextAsync())
            {
                Add(_enumerator.Current);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            Failure = e;
        }
    }

    private void Add(TrainingJobEvent item)
    {
        lock (_events)
        {
            _events.Add(item);
        }
    }
}
