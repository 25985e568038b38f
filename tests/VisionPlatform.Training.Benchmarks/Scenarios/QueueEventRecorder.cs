using System.Collections.Concurrent;
using System.Diagnostics;

namespace VisionPlatform.Training.Benchmarks.Scenarios;

/// <summary>
/// The queue scenario's all-runs subscriber (<see cref="ITrainingEventSource.SubscribeAsync"/>, phase events only):
/// stamps each run's first Running event on arrival, the distinct queue positions its Queued events carried, and its
/// terminal status; <see cref="All"/> completes when every started run has had a terminal event.
/// </summary>
internal sealed class QueueEventRecorder(int runs)
{
    private readonly ConcurrentDictionary<string, long> _running = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TrainingRunStatus> _terminal = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<int, byte>> _positions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _queued = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource<long> _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _expected = runs;
    private long _dropped;

    /// <summary>Completes with the receipt timestamp of the last expected terminal event.</summary>
    public Task<long> All => _all.Task;

    public int Terminal => _terminal.Count;

    public IEnumerable<TrainingRunStatus> TerminalStatuses => _terminal.Values;

    public int QueuedRuns => _queued.Count;

    public int RunningRuns => _running.Count;

    public long Dropped => Interlocked.Read(ref _dropped);

    public bool TryGetRunning(string jobId, out long timestamp) => _running.TryGetValue(jobId, out timestamp);

    public int PositionsOf(string jobId) => _positions.TryGetValue(jobId, out var set) ? set.Count : 0;

    /// <summary>A run that was never started is not waited for.</summary>
    public void Forget()
    {
        if (Interlocked.Decrement(ref _expected) <= _terminal.Count)
        {
            _all.TrySetResult(Stopwatch.GetTimestamp());
        }
    }

    /// <summary>Subscribes and records until cancelled; <paramref name="subscribed"/> is set once the hub has the subscriber.</summary>
    public async Task RunAsync(ITrainingEventSource events, TaskCompletionSource subscribed, CancellationToken cancellationToken)
    {
        var subscription = new TrainingEventSubscription { IncludeCurrentState = false, IncludeProgress = false, BufferCapacity = 1 << 17 };
        try
        {
            var stream = events.SubscribeAsync(subscription, cancellationToken).GetAsyncEnumerator(cancellationToken);
            await using (stream)
            {
                // the hub registers the subscriber on the first MoveNextAsync
                var next = stream.MoveNextAsync();
                subscribed.TrySetResult();
                while (await next)
                {
                    Record(stream.Current, Stopwatch.GetTimestamp());
                    next = stream.MoveNextAsync();
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // done
        }
    }

    private void Record(TrainingJobEvent item, long received)
    {
        switch (item)
        {
            case TrainingEventsDroppedEvent dropped:
                Interlocked.Add(ref _dropped, dropped.Count);
                return;
            case TrainingPhaseChangedEvent { Status: var status }:
                if (status.Reason == TrainingStatusReasons.Queued)
                {
                    _queued.TryAdd(status.JobId, 0);
                }

                if (QueueScenario.PositionOf(status) is int position)
                {
                    _positions.GetOrAdd(status.JobId, _ => new ConcurrentDictionary<int, byte>()).TryAdd(position, 0);
                }

                if (status.Phase == TrainingPhase.Running)
                {
                    _running.TryAdd(status.JobId, received);
                }

                if (status.IsTerminal && _terminal.TryAdd(status.JobId, status) && _terminal.Count >= Volatile.Read(ref _expected))
                {
                    _all.TrySetResult(received);
                }

                return;
        }
    }
}
