namespace VisionPlatform.Training.Samples.RemoteExecutor.Tests;

/// <summary>
/// Records one <see cref="ITrainingEventSource"/> subscription in the background. The subscriber is registered when the
/// recorder is created (the first <c>MoveNextAsync</c> runs the hub's registration synchronously), so events of a start
/// made afterwards are never missed. Waits are bounded; disposing ends the subscription and its reader.
/// </summary>
internal sealed class EventRecorder : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TrainingJobEvent> _events = [];
    private readonly Task _pump;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public EventRecorder(ITrainingEventSource source, TrainingEventSubscription subscription)
    {
        var enumerator = source.SubscribeAsync(subscription, _stop.Token).GetAsyncEnumerator(_stop.Token);
        _pump = PumpAsync(enumerator, enumerator.MoveNextAsync());
    }

    public IReadOnlyList<TrainingJobEvent> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }

    /// <summary>The events so far, once one matches <paramref name="last"/>; throws with every event received after the timeout.</summary>
    public async Task<IReadOnlyList<TrainingJobEvent>> WaitForAsync(Func<TrainingJobEvent, bool> last, TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(90));
        while (true)
        {
            Task changed;
            lock (_events)
            {
                if (_events.Any(last))
                {
                    return [.. _events];
                }

                changed = _changed.Task;
            }

            if (_pump.IsCompleted)
            {
                await _pump;
                throw new InvalidOperationException("The subscription ended before the expected event; received: " + Describe());
            }

            try
            {
                await Task.WhenAny(changed, _pump).WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException("The expected event did not arrive in time; received: " + Describe());
            }
        }
    }

    public Task<IReadOnlyList<TrainingJobEvent>> WaitForTerminalAsync(TimeSpan? timeout = null) => WaitForAsync(RemoteTestHost.IsTerminalPhase, timeout);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _pump;
        _stop.Dispose();
    }

    private string Describe() => Environment.NewLine + string.Join(Environment.NewLine, Events);

    private async Task PumpAsync(IAsyncEnumerator<TrainingJobEvent> enumerator, ValueTask<bool> first)
    {
        try
        {
            var more = await first;
            while (more)
            {
                lock (_events)
                {
                    _events.Add(enumerator.Current);
                    Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
                }

                more = await enumerator.MoveNextAsync();
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Disposed.
        }
        finally
        {
            await enumerator.DisposeAsync();
        }
    }
}
