using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace VisionPlatform.Training;

/// <summary>
/// The SDK's event hub: executors and monitors publish what they observe, subscribers receive it through their own
/// bounded buffers. It also keeps the last status of every tracked run, so a new subscriber starts from the current
/// state and the same state observed twice (after a watch reconnect or re-list) is published once.
/// </summary>
internal sealed class TrainingEventHub : ITrainingEventSource, ITrainingEventPublisher
{
    /// <summary>How many terminal runs stay tracked before the oldest are forgotten (their status stays readable from the executor).</summary>
    internal const int TerminalRetention = 10_000;

    private readonly TimeProvider _time;
    private readonly Func<ITrainingExecutor?> _statusSource;
    private readonly ConcurrentDictionary<string, RunState> _runs = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _terminalOrder = new();
    private readonly object _subscribersGate = new();
    private EventSubscriber[] _subscribers = [];
    private int _terminalCount;

    /// <param name="time">The clock for event timestamps and completion timeouts.</param>
    /// <param name="statusSource">Reads a run's status when the hub has not seen it (usually the executor manager), resolved lazily to avoid a cycle.</param>
    public TrainingEventHub(TimeProvider time, Func<ITrainingExecutor?> statusSource)
    {
        _time = time;
        _statusSource = statusSource;
    }

    /// <inheritdoc />
    public event Action<string?>? InterestChanged;

    /// <summary>Raised synchronously after a run's phase changed: the previous status (null when first seen) and the new one.</summary>
    internal event Action<TrainingRunStatus?, TrainingRunStatus>? StatusChanged;

    /// <summary>Raised when a slow subscriber lost events (its overflow policy and how many), for the metrics.</summary>
    internal event Action<TrainingEventOverflowPolicy, long>? EventsDropped;

    /// <summary>How often <see cref="WaitForCompletionAsync"/> re-reads the status in case no monitor reports the run.</summary>
    internal TimeSpan ReconcileInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>The number of runs tracked, for diagnostics and the memory benchmark.</summary>
    internal int TrackedRuns => _runs.Count;

    /// <summary>Non-terminal tracked runs grouped by executor, phase and reason, for the active-runs instruments.</summary>
    internal List<Diagnostics.ActiveRunGroup> ActiveRunGroups() =>
        _runs.Values
            .Select(r => r.Status)
            .Where(s => s is { IsTerminal: false })
            .GroupBy(s => (s!.ExecutorName, s.Phase, s.Reason))
            .Select(g => new Diagnostics.ActiveRunGroup(
                g.Key.ExecutorName,
                g.Key.Phase,
                g.Key.Reason,
                g.Count(),
                g.Min(s => s!.Phase == TrainingPhase.Pending ? s.CreatedAt : s.StartedAt)))
            .ToList();

    /// <summary>The number of open subscriptions.</summary>
    internal int SubscriberCount => Volatile.Read(ref _subscribers).Length;

    /// <inheritdoc />
    public IAsyncEnumerable<TrainingJobEvent> SubscribeAsync(TrainingEventSubscription? subscription = null, CancellationToken cancellationToken = default)
    {
        subscription ??= new TrainingEventSubscription();
        Validate(subscription);
        return SubscribeCoreAsync(subscription, knownRun: null, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<TrainingRunStatus> WaitForCompletionAsync(TrainingRun run, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (timeout != Timeout.InfiniteTimeSpan && timeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be positive or Timeout.InfiniteTimeSpan.");
        }

        // The timeout runs on the injected clock (CancelAfter would use the system clock), so a fake clock drives it.
        using var timer = timeout == Timeout.InfiniteTimeSpan ? null : new CancellationTokenSource(timeout, _time);
        using var deadline = timer is null
            ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken)
            : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);

        var subscription = new TrainingEventSubscription { JobId = run.JobId, IncludeProgress = false };
        using var reconcile = new CancellationTokenSource();
        var reconciler = ReconcileUntilDoneAsync(run, reconcile.Token);
        try
        {
            await foreach (var item in SubscribeCoreAsync(subscription, run, deadline.Token).ConfigureAwait(false))
            {
                if (item is TrainingPhaseChangedEvent { Status.IsTerminal: true } done && done.Run.Equals(run))
                {
                    return done.Status;
                }

                if (item is TrainingEventsDroppedEvent && TryGetStatus(run.JobId, out var latest) && latest.IsTerminal && latest.Run.Equals(run))
                {
                    return latest;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(string.Create(
                CultureInfo.InvariantCulture,
                $"Run '{run.JobId}' on '{run.ExecutorName}' was not finished after {timeout}; its last known phase is {(TryGetStatus(run.JobId, out var last) ? last.Phase : "unknown")}."));
        }
        finally
        {
            await reconcile.CancelAsync().ConfigureAwait(false);
            await reconciler.ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
        throw new OperationCanceledException(cancellationToken);
    }

    /// <inheritdoc />
    public void PublishStatus(TrainingRunStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        var state = _runs.GetOrAdd(status.JobId, static _ => new RunState());
        TrainingRunStatus? previous;
        TrainingPhaseChangedEvent published;
        lock (state)
        {
            previous = state.Status;
            if (previous is not null && previous.Run.Equals(status.Run))
            {
                // A terminal run never goes back (a stale watch event or a slow poll must not revive it), and a running
                // attempt does not go back to pending: between a pod's failure and the Job controller's decision a
                // Kubernetes run maps to Pending for the same attempt, which a browser would show as a step backwards.
                // A retry is a new attempt and is published.
                if ((previous.IsTerminal && !status.IsTerminal)
                    || (previous.Phase == TrainingPhase.Running && status.Phase == TrainingPhase.Pending && status.Attempt <= previous.Attempt))
                {
                    return;
                }

                var merged = status.Progress is null && state.Progress is not null ? status with { Progress = state.Progress } : status;
                if (!IsPhaseChange(previous, merged))
                {
                    // Same phase: keep the newer details (times, message, cost) without an event.
                    state.Status = merged;
                    return;
                }

                status = merged;
            }
            else if (previous is not null)
            {
                // The same job id on a new resource: a new run.
                state.Progress = null;
                previous = null;
            }

            state.Status = status;
            published = new TrainingPhaseChangedEvent
            {
                Timestamp = _time.GetUtcNow(),
                Run = status.Run,
                Sequence = ++state.Sequence,
                Status = status,
                PreviousPhase = previous?.Phase,
            };
            Deliver(published);
        }

        if (status.IsTerminal && previous is not { IsTerminal: true })
        {
            RememberTerminal(status.JobId);
        }

        StatusChanged?.Invoke(previous, status);
    }

    /// <inheritdoc />
    public void PublishProgress(TrainingRun run, TrainingProgress progress)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(progress);
        var state = _runs.GetOrAdd(run.JobId, static _ => new RunState());
        lock (state)
        {
            if (state.Status is { } known && !known.Run.Equals(run))
            {
                return;
            }

            if (state.Progress is { } last && last.Epoch == progress.Epoch && last.Step == progress.Step && last.TotalEpochs == progress.TotalEpochs)
            {
                return;
            }

            var estimated = progress.WithEstimate(state.Status?.StartedAt, _time.GetUtcNow());
            state.Progress = estimated;
            if (state.Status is { } status)
            {
                state.Status = status with { Progress = estimated };
            }

            Deliver(new TrainingProgressEvent { Timestamp = _time.GetUtcNow(), Run = run, Sequence = ++state.Sequence, Progress = estimated });
        }
    }

    /// <inheritdoc />
    public void PublishLog(TrainingRun run, TrainingLogLine line)
    {
        ArgumentNullException.ThrowIfNull(run);
        var state = _runs.GetOrAdd(run.JobId, static _ => new RunState());
        lock (state)
        {
            Deliver(new TrainingLogEvent { Timestamp = _time.GetUtcNow(), Run = run, Sequence = ++state.Sequence, Line = line });
        }
    }

    /// <inheritdoc />
    public void PublishFallback(TrainingRun run, string requestedExecutor, string reason)
    {
        ArgumentNullException.ThrowIfNull(run);
        var state = _runs.GetOrAdd(run.JobId, static _ => new RunState());
        lock (state)
        {
            Deliver(new TrainingFallbackEvent
            {
                Timestamp = _time.GetUtcNow(),
                Run = run,
                Sequence = ++state.Sequence,
                RequestedExecutor = requestedExecutor,
                Reason = reason,
            });
        }
    }

    /// <inheritdoc />
    public void PublishArtifactUpload(TrainingRun run, ArtifactUploadStatus upload)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(upload);
        var state = _runs.GetOrAdd(run.JobId, static _ => new RunState());
        lock (state)
        {
            // The executor's status update usually carried it here already; this keeps the hub's copy right without one.
            if (state.Status is { } status && status.Run.Equals(run))
            {
                state.Status = status with { ArtifactUpload = upload };
            }

            Deliver(new TrainingArtifactUploadEvent { Timestamp = _time.GetUtcNow(), Run = run, Sequence = ++state.Sequence, Upload = upload });
        }
    }

    /// <inheritdoc />
    public bool WantsProgress(string jobId)
    {
        foreach (var subscriber in Volatile.Read(ref _subscribers))
        {
            if (subscriber.Options.IncludeProgress && subscriber.Options.Matches(jobId))
            {
                return true;
            }
        }

        return false;
    }

    /// <inheritdoc />
    public bool WantsLogs(string jobId)
    {
        foreach (var subscriber in Volatile.Read(ref _subscribers))
        {
            if (subscriber.Options.IncludeLogs && subscriber.Options.Matches(jobId))
            {
                return true;
            }
        }

        return false;
    }

    /// <inheritdoc />
    public bool TryGetStatus(string jobId, [NotNullWhen(true)] out TrainingRunStatus? status)
    {
        status = _runs.TryGetValue(jobId, out var state) ? state.Status : null;
        return status is not null;
    }

    private static bool IsPhaseChange(TrainingRunStatus previous, TrainingRunStatus next) =>
        previous.Phase != next.Phase
        || !string.Equals(previous.Reason, next.Reason, StringComparison.Ordinal)
        || previous.Attempt != next.Attempt
        || (next.IsTerminal && previous.ExitCode != next.ExitCode);

    private static void Validate(TrainingEventSubscription subscription)
    {
        var errors = new List<TrainingValidationError>();
        if (subscription.BufferCapacity is < 16 or > 1_048_576)
        {
            errors.Add(new(nameof(TrainingEventSubscription.BufferCapacity), subscription.BufferCapacity.ToString(CultureInfo.InvariantCulture), "must be between 16 and 1048576 events"));
        }

        if (!Enum.IsDefined(subscription.OverflowPolicy))
        {
            errors.Add(new(nameof(TrainingEventSubscription.OverflowPolicy), subscription.OverflowPolicy.ToString(), "must be DropOldest or Disconnect"));
        }

        if (subscription.JobId is { } jobId && string.IsNullOrWhiteSpace(jobId))
        {
            errors.Add(new(nameof(TrainingEventSubscription.JobId), jobId, "must be null (all runs) or a job id"));
        }

        if (errors.Count > 0)
        {
            throw new TrainingValidationException(errors);
        }
    }

    private async IAsyncEnumerable<TrainingJobEvent> SubscribeCoreAsync(
        TrainingEventSubscription options,
        TrainingRun? knownRun,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var subscriber = new EventSubscriber(options, _time);
        Add(subscriber);
        try
        {
            // Events published from here on are buffered; the snapshot below tells which of them it already covers.
            Dictionary<string, long>? covered = null;
            if (options.IncludeCurrentState)
            {
                if (options.JobId is { } jobId && !_runs.ContainsKey(jobId))
                {
                    await LoadAsync(jobId, knownRun, cancellationToken).ConfigureAwait(false);
                }

                covered = new Dictionary<string, long>(StringComparer.Ordinal);
                foreach (var snapshot in Snapshot(options))
                {
                    covered[snapshot.JobId] = snapshot.Sequence;
                    yield return snapshot;
                }
            }

            while (true)
            {
                var next = await subscriber.TakeAsync(cancellationToken).ConfigureAwait(false);
                if (covered is not null && next is TrainingRunEvent runEvent
                    && covered.TryGetValue(runEvent.JobId, out var seen) && runEvent.Sequence <= seen)
                {
                    continue;
                }

                yield return next;
            }
        }
        finally
        {
            Remove(subscriber);
        }
    }

    private List<TrainingPhaseChangedEvent> Snapshot(TrainingEventSubscription options)
    {
        var now = _time.GetUtcNow();
        var snapshot = new List<TrainingPhaseChangedEvent>();
        IEnumerable<KeyValuePair<string, RunState>> runs = options.JobId is { } jobId
            ? _runs.TryGetValue(jobId, out var one) ? [new(jobId, one)] : []
            : _runs;
        foreach (var (_, state) in runs)
        {
            lock (state)
            {
                // All-runs subscribers start from the live runs; a single-run subscriber gets its run even when finished.
                if (state.Status is { } status && (options.JobId is not null || !status.IsTerminal))
                {
                    snapshot.Add(new TrainingPhaseChangedEvent { Timestamp = now, Run = status.Run, Sequence = state.Sequence, Status = status });
                }
            }
        }

        return snapshot;
    }

    private async Task LoadAsync(string jobId, TrainingRun? knownRun, CancellationToken cancellationToken)
    {
        if (_statusSource() is not { } executor)
        {
            return;
        }

        var run = knownRun ?? await executor.FindAsync(jobId, cancellationToken).ConfigureAwait(false);
        if (run is null)
        {
            return;
        }

        var status = await executor.GetStatusAsync(run, cancellationToken).ConfigureAwait(false);
        if (status.Phase != TrainingPhase.NotFound)
        {
            PublishStatus(status);
        }
    }

    private async Task ReconcileUntilDoneAsync(TrainingRun run, CancellationToken cancellationToken)
    {
        // A safety net, not the mechanism: monitors publish changes as they happen. Without a monitor for the run's
        // executor (for example an executor constructed by hand) this keeps WaitForCompletionAsync from waiting forever.
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(ReconcileInterval, _time, cancellationToken).ConfigureAwait(false);
                if (_statusSource() is { } executor)
                {
                    var status = await executor.GetStatusAsync(run, cancellationToken).ConfigureAwait(false);
                    if (status.Phase != TrainingPhase.NotFound || !_runs.ContainsKey(run.JobId))
                    {
                        PublishStatus(status);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // Status reads fail while an executor is unavailable; the subscription keeps waiting for the monitor.
        }
    }

    private void Deliver(TrainingJobEvent item)
    {
        var jobId = (item as TrainingRunEvent)?.JobId;
        foreach (var subscriber in Volatile.Read(ref _subscribers))
        {
            var options = subscriber.Options;
            if (jobId is not null && !options.Matches(jobId))
            {
                continue;
            }

            if ((item is TrainingLogEvent && !options.IncludeLogs) || (item is TrainingProgressEvent && !options.IncludeProgress))
            {
                continue;
            }

            if (subscriber.Offer(item) is var lost and > 0)
            {
                EventsDropped?.Invoke(options.OverflowPolicy, lost);
            }
        }
    }

    private void RememberTerminal(string jobId)
    {
        _terminalOrder.Enqueue(jobId);
        if (Interlocked.Increment(ref _terminalCount) <= TerminalRetention)
        {
            return;
        }

        if (_terminalOrder.TryDequeue(out var oldest))
        {
            Interlocked.Decrement(ref _terminalCount);
            if (_runs.TryGetValue(oldest, out var state))
            {
                lock (state)
                {
                    // Only forget it if it is still terminal (the id may have been reused by a new run since).
                    if (state.Status is { IsTerminal: true })
                    {
                        _runs.TryRemove(new KeyValuePair<string, RunState>(oldest, state));
                    }
                }
            }
        }
    }

    private void Add(EventSubscriber subscriber)
    {
        lock (_subscribersGate)
        {
            _subscribers = [.. _subscribers, subscriber];
        }

        InterestChanged?.Invoke(subscriber.Options.JobId);
    }

    private void Remove(EventSubscriber subscriber)
    {
        lock (_subscribersGate)
        {
            _subscribers = Array.FindAll(_subscribers, s => !ReferenceEquals(s, subscriber));
        }

        InterestChanged?.Invoke(subscriber.Options.JobId);
    }

    private sealed class RunState
    {
        public TrainingRunStatus? Status { get; set; }

        public TrainingProgress? Progress { get; set; }

        public long Sequence { get; set; }
    }
}
