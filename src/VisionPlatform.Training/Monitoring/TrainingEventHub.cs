using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace VisionPlatform.Training;

/// <summary>
/// The SDK's event hub: executors and monitors publish what they observe, subscribers receive it through their own
/// bounded buffers. It also keeps the last status of every tracked run, so a new subscriber starts from the current
/// state and the same state observed twice (after a watch reconnect or re-list) is published once. It depends on nothing
/// but the clock: reading a status it has not seen is the caller's job (see <see cref="TrainingEventSource"/> and
/// <see cref="TrainingOperation"/>), so executors, routing and the hub form no cycle.
/// </summary>
internal sealed class TrainingEventHub : ITrainingEventSource, ITrainingEventPublisher
{
    /// <summary>How many terminal runs stay tracked before the oldest are forgotten (their status stays readable from the executor).</summary>
    internal const int TerminalRetention = 10_000;

    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, RunState> _runs = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _terminalOrder = new();
    private readonly object _subscribersGate = new();
    private EventSubscriber[] _subscribers = [];
    private readonly TrainingEventOptions _limits;
    private int _terminalCount;

    /// <param name="time">The clock for event timestamps.</param>
    /// <param name="limits">Subscriber and buffered-byte limits (<c>Training:Events</c>); <see langword="null"/> for the defaults.</param>
    public TrainingEventHub(TimeProvider time, TrainingEventOptions? limits = null)
    {
        _time = time;
        _limits = limits ?? new TrainingEventOptions();
    }

    /// <inheritdoc />
    public event Action<string?>? InterestChanged;

    /// <summary>Raised synchronously after a run's phase changed: the previous status (null when first seen) and the new one.</summary>
    internal event Action<TrainingRunStatus?, TrainingRunStatus>? StatusChanged;

    /// <summary>Raised when a slow subscriber lost events (its overflow policy and how many), for the metrics.</summary>
    internal event Action<TrainingEventOverflowPolicy, long>? EventsDropped;

    /// <summary>The clock events are stamped with.</summary>
    internal TimeProvider Time => _time;

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

    /// <summary>Subscribes to what the hub has seen (a single-job subscription of an unseen run starts empty).</summary>
    /// <param name="subscription">What to receive; <see langword="null"/> for all runs with current state and progress.</param>
    /// <param name="cancellationToken">Ends the subscription.</param>
    /// <returns>The events.</returns>
    public IAsyncEnumerable<TrainingJobEvent> SubscribeAsync(TrainingEventSubscription? subscription = null, CancellationToken cancellationToken = default) =>
        SubscribeAsync(subscription, loadUnknown: null, cancellationToken);

    /// <summary>Subscribes; see <see cref="ITrainingEventSource.SubscribeAsync"/>.</summary>
    /// <param name="subscription">What to receive; <see langword="null"/> for all runs with current state and progress.</param>
    /// <param name="loadUnknown">
    /// Called once, before the snapshot, for a single-job subscription with current state when the hub does not know the
    /// job yet: it reads the run's status from its executor and publishes it. <see langword="null"/> to skip.
    /// </param>
    /// <param name="cancellationToken">Ends the subscription.</param>
    /// <returns>The events.</returns>
    internal IAsyncEnumerable<TrainingJobEvent> SubscribeAsync(
        TrainingEventSubscription? subscription,
        Func<string, CancellationToken, Task>? loadUnknown,
        CancellationToken cancellationToken)
    {
        subscription ??= new TrainingEventSubscription();
        Validate(subscription);
        return SubscribeCoreAsync(subscription, loadUnknown, cancellationToken);
    }

    /// <summary>Publishes a fallback decision (routing only; not part of <see cref="ITrainingEventPublisher"/>).</summary>
    /// <param name="run">The run, on the executor that took it.</param>
    /// <param name="requestedExecutor">The executor the request asked for.</param>
    /// <param name="reason">Why it fell back.</param>
    internal void PublishFallback(TrainingRun run, string requestedExecutor, string reason)
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

    // A queued run's message is its place in the queue ("position N in queue q"): subscribers see it move. Other message
    // changes are not events (a pod's waiting message can change every few seconds).
    private static bool IsPhaseChange(TrainingRunStatus previous, TrainingRunStatus next) =>
        previous.Phase != next.Phase
        || !string.Equals(previous.Reason, next.Reason, StringComparison.Ordinal)
        || previous.Attempt != next.Attempt
        || (next.IsTerminal && previous.ExitCode != next.ExitCode)
        || (next.Reason == TrainingStatusReasons.Queued && !string.Equals(previous.Message, next.Message, StringComparison.Ordinal));

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
        Func<string, CancellationToken, Task>? loadUnknown,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var subscriber = new EventSubscriber(options, _time, _limits.MaxBufferedBytesPerSubscriber);
        Add(subscriber);
        try
        {
            // Events published from here on are buffered; the snapshot below tells which of them it already covers.
            Dictionary<string, long>? covered = null;
            if (options.IncludeCurrentState)
            {
                if (options.JobId is { } jobId && loadUnknown is not null && !_runs.ContainsKey(jobId))
                {
                    await loadUnknown(jobId, cancellationToken).ConfigureAwait(false);
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
            if (_subscribers.Length >= _limits.MaxSubscribers)
            {
                throw new TrainingException(
                    TrainingErrorCode.SubscriberLimitReached,
                    FormattableString.Invariant($"The event subscription was refused: {_subscribers.Length} subscriptions are open, the most this host allows (Training:Events:MaxSubscribers = {_limits.MaxSubscribers}). Close unused subscriptions or raise the limit."));
            }

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
