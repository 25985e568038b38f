using System.Collections.Concurrent;
using System.Diagnostics;

namespace VisionPlatform.Training.Benchmarks.Scenarios;

/// <summary>
/// A backend's all-runs subscriber (<see cref="ITrainingEventSource.SubscribeAsync"/>, phase events only): stamps every
/// event the moment it arrives and counts what a browser would get wrong — the same phase event twice (same run,
/// phase, reason and attempt) and gaps (<see cref="TrainingEventsDroppedEvent"/>).
/// </summary>
internal sealed class MonitorEventRecorder
{
    private readonly ConcurrentDictionary<(string JobId, TrainingPhase Phase), long> _firstReceipt = new();
    private readonly ConcurrentDictionary<(TrainingRun Run, TrainingPhase Phase, string? Reason, int Attempt), byte> _seen = new();
    private readonly ConcurrentDictionary<string, TrainingRunStatus> _terminal = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _history = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _duplicateExamples = new();
    private readonly Action<string, long> _onTerminal;
    private int _events;
    private int _duplicates;
    private long _dropped;

    /// <param name="onTerminal">Called with the job id and receipt timestamp when a run's first terminal event arrives.</param>
    public MonitorEventRecorder(Action<string, long> onTerminal) => _onTerminal = onTerminal;

    public int Events => Volatile.Read(ref _events);

    public int Duplicates => Volatile.Read(ref _duplicates);

    public long Dropped => Interlocked.Read(ref _dropped);

    public IReadOnlyDictionary<string, TrainingRunStatus> Terminal => _terminal;

    /// <summary>A few duplicates with the run's phase history up to them, to see where they come from.</summary>
    public IEnumerable<string> DuplicateExamples => _duplicateExamples;

    public bool TryGetReceipt(string jobId, TrainingPhase phase, out long timestamp) => _firstReceipt.TryGetValue((jobId, phase), out timestamp);

    public IEnumerable<(string JobId, TrainingPhase Phase, long Timestamp)> Receipts() =>
        _firstReceipt.Select(r => (r.Key.JobId, r.Key.Phase, r.Value));

    /// <summary>Subscribes and records until cancelled; the subscription exists when the returned task has started.</summary>
    public async Task RunAsync(ITrainingEventSource events, TaskCompletionSource subscribed, CancellationToken cancellationToken)
    {
        var subscription = new TrainingEventSubscription
        {
            IncludeCurrentState = false,
            IncludeProgress = false,
            BufferCapacity = 1 << 17,
        };
        try
        {
            var stream = events.SubscribeAsync(subscription, cancellationToken).GetAsyncEnumerator(cancellationToken);
            await using (stream)
            {
                // the hub registers the subscriber on the first MoveNextAsync; flag that before anything is published
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
            case TrainingPhaseChangedEvent phase:
                Interlocked.Increment(ref _events);
                var status = phase.Status;
                var step = $"#{phase.Sequence} {status.Phase}/{status.Reason}/{status.Attempt}";
                var history = _history.AddOrUpdate(phase.JobId, step, (_, before) => before + " > " + step);
                if (!_seen.TryAdd((phase.Run, status.Phase, status.Reason, status.Attempt), 0))
                {
                    if (Interlocked.Increment(ref _duplicates) <= 5)
                    {
                        _duplicateExamples.Enqueue($"{phase.JobId}: {history}");
                    }
                }

                _firstReceipt.TryAdd((phase.JobId, status.Phase), received);
                if (status.IsTerminal && _terminal.TryAdd(phase.JobId, status))
                {
                    _onTerminal(phase.JobId, received);
                }

                return;
        }
    }
}
