namespace VisionPlatform.Training.QuickStart.Display;

/// <summary>
/// One job's events (phases, progress, log lines) through <see cref="ITrainingEventSource"/>. The subscription is made
/// when this is constructed, before the job starts, so nothing of the run is missed: the executor follows the log of a
/// run someone is interested in from its first line, and publishes the rest of the log before the terminal phase.
/// </summary>
internal sealed class RunEventFollower : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly IAsyncEnumerator<TrainingJobEvent> _events;
    private Task<bool>? _next;

    public RunEventFollower(ITrainingEventSource events, string jobId, CancellationToken cancellationToken)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var subscription = new TrainingEventSubscription
        {
            JobId = jobId,
            // Nothing to replay yet (and reading the current state would ask every executor, reachable or not).
            IncludeCurrentState = false,
            IncludeProgress = true,
            IncludeLogs = true,
        };
        _events = events.SubscribeAsync(subscription, _stop.Token).GetAsyncEnumerator(_stop.Token);

        // The first MoveNextAsync is what registers the subscription.
        _next = _events.MoveNextAsync().AsTask();
    }

    /// <summary>Shows the run's events until its terminal phase.</summary>
    public async Task ShowUntilTerminalAsync(TrainingRun run, ProgressDisplay display)
    {
        while (await (_next ??= _events.MoveNextAsync().AsTask()).ConfigureAwait(false))
        {
            _next = null;
            var item = _events.Current;
            display.Show(item);
            if (item is TrainingPhaseChangedEvent { Status.IsTerminal: true } phase && phase.Run.Equals(run))
            {
                return;
            }
        }

        _next = null;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_next is not null)
        {
            // The enumerator may only be disposed once its pending MoveNextAsync has finished; cancellation ends it.
            await _next.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
        }

        await _events.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
