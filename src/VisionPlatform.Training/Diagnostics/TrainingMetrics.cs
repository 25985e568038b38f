using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace VisionPlatform.Training.Diagnostics;

/// <summary>
/// The SDK's instruments on one <see cref="Meter"/> named <see cref="TrainingTelemetry.MeterName"/>: a DI singleton
/// shared by routing, the event hub and the executors. Executors (built-in or third-party) take it through their
/// constructors and record their backend requests with <see cref="RecordExecutorRequest"/> and
/// <see cref="RecordExecutorRequestRetry"/>, tagged with their own name. Created from the host's
/// <see cref="IMeterFactory"/> when there is one, so meters are scoped to the service provider and tests can observe
/// them; otherwise from a private meter.
/// <para>
/// Run outcomes come from the hub's status transitions. An outcome is counted once per run, and only when this host saw
/// the run live: a transition from a non-terminal status, or a run that is first seen terminal while (or after) this host
/// started it. A run first seen already finished (after a host restart, a re-list, or the hub forgetting old runs) counts
/// nothing, so restarts never count runs twice.
/// </para>
/// </summary>
public sealed class TrainingMetrics : IDisposable
{
    /// <summary>The framework tag of runs this host did not start (a status does not carry the framework).</summary>
    public const string UnknownFramework = "unknown";

    /// <summary>How many started runs are remembered for their framework tag.</summary>
    internal const int StartedRunCapacity = 10_000;

    private const string OtherReason = "other";

    private static readonly HashSet<string> KnownReasons = new(StringComparer.Ordinal)
    {
        TrainingStatusReasons.WaitingForSlot, TrainingStatusReasons.WaitingForGpu, TrainingStatusReasons.Starting,
        TrainingStatusReasons.Running, TrainingStatusReasons.Completed, TrainingStatusReasons.NonZeroExitCode,
        TrainingStatusReasons.InvalidTrainerInput, TrainingStatusReasons.Signaled, TrainingStatusReasons.StoppedByUser,
        TrainingStatusReasons.ExitNotObserved, TrainingStatusReasons.LaunchFailed, TrainingStatusReasons.NotFound,
        TrainingStatusReasons.Unschedulable, TrainingStatusReasons.ImagePullBackOff, TrainingStatusReasons.ErrImagePull,
        TrainingStatusReasons.ContainerCreating, TrainingStatusReasons.Suspended, TrainingStatusReasons.BackoffLimitExceeded,
        TrainingStatusReasons.DeadlineExceeded, TrainingStatusReasons.PodFailurePolicy, TrainingStatusReasons.OomKilled,
    };

    // Running times from seconds to days; waits from a fraction of a second (a free slot) to hours (a GPU queue).
    private static readonly double[] RunDurationBuckets = [1, 5, 15, 30, 60, 120, 300, 600, 1_800, 3_600, 7_200, 14_400, 28_800, 86_400, 259_200];
    private static readonly double[] PendingDurationBuckets = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1_800, 3_600, 14_400];

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _starts;
    private readonly Counter<long> _fallbacks;
    private readonly Counter<long> _startFailures;
    private readonly Counter<long> _succeeded;
    private readonly Counter<long> _failed;
    private readonly Counter<long> _stopped;
    private readonly Histogram<double> _runDuration;
    private readonly Histogram<double> _pendingDuration;
    private readonly Counter<long> _eventsDropped;
    private readonly Counter<long> _apiCalls;
    private readonly Counter<long> _apiErrors;
    private readonly Counter<long> _apiRetries;
    private readonly StartedRunRegistry _startedRuns = new(StartedRunCapacity);

    // Series once reported keep reporting (0 when idle), so they drop to zero instead of vanishing.
    private readonly ConcurrentDictionary<(string Executor, TrainingPhase Phase, string Reason), bool> _activeSeries = new();
    private readonly ConcurrentDictionary<string, bool> _pendingSeries = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private TrainingEventHub? _hub;

    /// <summary>Creates the instruments.</summary>
    /// <param name="meterFactory">Creates the meter (scoped to the host's service provider); <see langword="null"/> for a private meter.</param>
    /// <param name="timeProvider">The clock for the pending-age gauge; <see langword="null"/> for the system clock.</param>
    public TrainingMetrics(IMeterFactory? meterFactory, TimeProvider? timeProvider = null)
    {
        _time = timeProvider ?? TimeProvider.System;
        if (meterFactory is null)
        {
            _meter = new Meter(TrainingTelemetry.MeterName);
            _ownsMeter = true;
        }
        else
        {
            _meter = meterFactory.Create(TrainingTelemetry.MeterName);
        }

        _starts = _meter.CreateCounter<long>(TrainingTelemetry.StartsInstrument, "{run}", "Runs started through the training client, by the executor that runs them.");
        _fallbacks = _meter.CreateCounter<long>(TrainingTelemetry.FallbacksInstrument, "{fallback}", "Starts that ran on a fallback executor because the requested one was unavailable.");
        _startFailures = _meter.CreateCounter<long>(TrainingTelemetry.StartFailuresInstrument, "{failure}", "Starts no executor in the chain could take.");
        _succeeded = _meter.CreateCounter<long>(TrainingTelemetry.SucceededInstrument, "{run}", "Runs seen finishing successfully.");
        _failed = _meter.CreateCounter<long>(TrainingTelemetry.FailedInstrument, "{run}", "Runs seen failing, or lost while live.");
        _stopped = _meter.CreateCounter<long>(TrainingTelemetry.StoppedInstrument, "{run}", "Runs seen ending because they were stopped.");
        _runDuration = _meter.CreateHistogram(
            TrainingTelemetry.RunDurationInstrument,
            "s",
            "Running time of finished runs, from StartedAt to FinishedAt.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = RunDurationBuckets });
        _pendingDuration = _meter.CreateHistogram(
            TrainingTelemetry.PendingDurationInstrument,
            "s",
            "Time runs waited before running (queued for a slot, a GPU node, an image pull), from CreatedAt to StartedAt.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = PendingDurationBuckets });
        _eventsDropped = _meter.CreateCounter<long>(TrainingTelemetry.EventsDroppedInstrument, "{event}", "Events slow subscribers lost.");
        _apiCalls = _meter.CreateCounter<long>(TrainingTelemetry.ExecutorRequestsInstrument, "{request}", "Requests executors sent to their backends, one per attempt.");
        _apiErrors = _meter.CreateCounter<long>(TrainingTelemetry.ExecutorRequestErrorsInstrument, "{request}", "Executor requests that got no answer or an error answer.");
        _apiRetries = _meter.CreateCounter<long>(TrainingTelemetry.ExecutorRequestRetriesInstrument, "{retry}", "Executor requests that were retried.");
        _meter.CreateObservableUpDownCounter(TrainingTelemetry.ActiveRunsInstrument, ObserveActiveRuns, "{run}", "Live runs the SDK tracks, by executor, phase and reason.");
        _meter.CreateObservableGauge(TrainingTelemetry.OldestPendingAgeInstrument, ObserveOldestPending, "s", "How long the longest-waiting pending run has waited since it was created, by executor (0 when none waits).");
        _meter.CreateObservableUpDownCounter(TrainingTelemetry.SubscribersInstrument, () => (long)(_hub?.SubscriberCount ?? 0), "{subscription}", "Open event subscriptions.");
    }

    /// <summary>Follows the hub's status changes and subscribers (once; the DI registration calls it when it creates the hub).</summary>
    internal void Observe(TrainingEventHub hub)
    {
        ArgumentNullException.ThrowIfNull(hub);
        if (Interlocked.CompareExchange(ref _hub, hub, null) is not null)
        {
            return;
        }

        hub.StatusChanged += OnStatusChanged;
        hub.EventsDropped += OnEventsDropped;
    }

    /// <summary>Notes a start before the executor is called; dispose the scope when the start is over.</summary>
    internal StartScope BeginStart(string jobId, string framework) =>
        new(this, jobId, framework, _startedRuns.Begin(jobId, framework));

    internal void FellBack(string requested, string used, string reasonKind) =>
        _fallbacks.Add(
            1,
            new KeyValuePair<string, object?>(TrainingTelemetry.RequestedExecutorTag, requested),
            new KeyValuePair<string, object?>(TrainingTelemetry.ExecutorTag, used),
            new KeyValuePair<string, object?>(TrainingTelemetry.ReasonTag, reasonKind));

    internal void StartFailed(string requested, string reasonKind) =>
        _startFailures.Add(
            1,
            new KeyValuePair<string, object?>(TrainingTelemetry.RequestedExecutorTag, requested),
            new KeyValuePair<string, object?>(TrainingTelemetry.ReasonTag, reasonKind));

    /// <summary>Records one request (one attempt) an executor sent to its backend.</summary>
    /// <param name="executor">The executor's name (<see cref="ITrainingExecutor.Name"/>).</param>
    /// <param name="operation">What the request does, from a small fixed set (for example <c>create</c>).</param>
    /// <param name="resource">What it acts on, from a small fixed set (for example <c>jobs</c>).</param>
    /// <param name="statusCode">The HTTP status code of the answer; <see langword="null"/> when there was none.</param>
    /// <param name="errorType">Why it failed (a status code, <c>timeout</c>, <c>connection_error</c>, ...); <see langword="null"/> when it did not.</param>
    /// <param name="isError">Whether it counts as an error (<see cref="TrainingTelemetry.ExecutorRequestErrorsInstrument"/>).</param>
    public void RecordExecutorRequest(string executor, string operation, string resource, int? statusCode, string? errorType, bool isError)
    {
        var tags = new TagList
        {
            { TrainingTelemetry.ExecutorTag, executor },
            { TrainingTelemetry.OperationTag, operation },
            { TrainingTelemetry.ResourceTag, resource },
        };
        if (statusCode is { } code)
        {
            tags.Add(TrainingTelemetry.HttpStatusCodeTag, code);
        }

        if (errorType is not null)
        {
            tags.Add(TrainingTelemetry.ErrorTypeTag, errorType);
        }

        _apiCalls.Add(1, tags);
        if (isError)
        {
            _apiErrors.Add(1, tags);
        }
    }

    /// <summary>Records that an executor retried a request.</summary>
    /// <param name="executor">The executor's name.</param>
    /// <param name="operation">What the request does.</param>
    /// <param name="resource">What it acts on.</param>
    public void RecordExecutorRequestRetry(string executor, string operation, string resource) =>
        _apiRetries.Add(
            1,
            new KeyValuePair<string, object?>(TrainingTelemetry.ExecutorTag, executor),
            new KeyValuePair<string, object?>(TrainingTelemetry.OperationTag, operation),
            new KeyValuePair<string, object?>(TrainingTelemetry.ResourceTag, resource));

    /// <summary>Stops observing the event hub and disposes the meter when it is private.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _hub, null) is { } hub)
        {
            hub.StatusChanged -= OnStatusChanged;
            hub.EventsDropped -= OnEventsDropped;
        }

        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    private static string? Outcome(TrainingPhase phase) => phase switch
    {
        TrainingPhase.Succeeded => "succeeded",
        TrainingPhase.Failed or TrainingPhase.Lost or TrainingPhase.NotFound => "failed",
        TrainingPhase.Stopped => "stopped",
        _ => null,
    };

    private static string ReasonValue(string reason) => KnownReasons.Contains(reason) ? reason : OtherReason;

    private static double Seconds(DateTimeOffset from, DateTimeOffset to) => Math.Max(0, (to - from).TotalSeconds);

    private void OnStatusChanged(TrainingRunStatus? previous, TrainingRunStatus current)
    {
        var startedHere = _startedRuns.TryGet(current.Run, out var framework, out var finished);

        // Only what this host saw happen: a change from a live status, or the first status of a run it is starting.
        var seenLive = previous is { IsTerminal: false } || (previous is null && startedHere && !finished);
        if (!seenLive)
        {
            return;
        }

        var executor = new KeyValuePair<string, object?>(TrainingTelemetry.ExecutorTag, current.ExecutorName);
        var frameworkTag = new KeyValuePair<string, object?>(TrainingTelemetry.FrameworkTag, framework);

        // The wait before the first attempt ran (a retried attempt's new start time is not a second wait).
        if (current.StartedAt is { } startedAt && previous?.StartedAt is null && current.Attempt <= 1 && current.CreatedAt is { } createdAt)
        {
            _pendingDuration.Record(Seconds(createdAt, startedAt), executor, frameworkTag);
        }

        if (!current.IsTerminal || Outcome(current.Phase) is not { } outcome)
        {
            return;
        }

        var counter = outcome switch
        {
            "succeeded" => _succeeded,
            "stopped" => _stopped,
            _ => _failed,
        };
        counter.Add(1, executor, frameworkTag, new KeyValuePair<string, object?>(TrainingTelemetry.ReasonTag, ReasonValue(current.Reason)));
        if (current.StartedAt is { } ranFrom && current.FinishedAt is { } ranTo)
        {
            _runDuration.Record(Seconds(ranFrom, ranTo), executor, frameworkTag, new KeyValuePair<string, object?>(TrainingTelemetry.OutcomeTag, outcome));
        }

        _startedRuns.Finish(current.Run);
    }

    private void OnEventsDropped(TrainingEventOverflowPolicy policy, long count) =>
        _eventsDropped.Add(
            count,
            new KeyValuePair<string, object?>(TrainingTelemetry.OverflowPolicyTag, policy == TrainingEventOverflowPolicy.Disconnect ? "disconnect" : "drop_oldest"));

    private IEnumerable<Measurement<long>> ObserveActiveRuns()
    {
        if (_hub is not { } hub)
        {
            return [];
        }

        var counts = new Dictionary<(string Executor, TrainingPhase Phase, string Reason), long>();
        foreach (var group in hub.ActiveRunGroups())
        {
            var key = (group.Executor, group.Phase, ReasonValue(group.Reason));
            counts[key] = counts.GetValueOrDefault(key) + group.Count;
            _activeSeries.TryAdd(key, true);
        }

        var measurements = new List<Measurement<long>>(_activeSeries.Count);
        foreach (var key in _activeSeries.Keys)
        {
            measurements.Add(new Measurement<long>(
                counts.GetValueOrDefault(key),
                new KeyValuePair<string, object?>(TrainingTelemetry.ExecutorTag, key.Executor),
                new KeyValuePair<string, object?>(TrainingTelemetry.PhaseTag, key.Phase == TrainingPhase.Pending ? "pending" : "running"),
                new KeyValuePair<string, object?>(TrainingTelemetry.ReasonTag, key.Reason)));
        }

        return measurements;
    }

    private IEnumerable<Measurement<double>> ObserveOldestPending()
    {
        if (_hub is not { } hub)
        {
            return [];
        }

        var now = _time.GetUtcNow();
        var oldest = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var group in hub.ActiveRunGroups())
        {
            if (group.Phase == TrainingPhase.Pending && group.OldestSince is { } since)
            {
                oldest[group.Executor] = Math.Max(oldest.GetValueOrDefault(group.Executor), Seconds(since, now));
                _pendingSeries.TryAdd(group.Executor, true);
            }
        }

        return _pendingSeries.Keys
            .Select(executor => new Measurement<double>(oldest.GetValueOrDefault(executor), new KeyValuePair<string, object?>(TrainingTelemetry.ExecutorTag, executor)))
            .ToList();
    }

    /// <summary>One start under way: <see cref="Started"/> counts the run; disposing without it forgets the start.</summary>
    internal readonly struct StartScope(TrainingMetrics metrics, string jobId, string framework, StartedRunRegistry.Entry entry) : IDisposable
    {
        /// <summary>Counts a started run, unless the start returned a run this host already counted (an idempotent repeat).</summary>
        public void Started(TrainingRun run)
        {
            ArgumentNullException.ThrowIfNull(run);
            if (metrics._startedRuns.Started(entry, run, framework))
            {
                metrics._starts.Add(
                    1,
                    new KeyValuePair<string, object?>(TrainingTelemetry.ExecutorTag, run.ExecutorName),
                    new KeyValuePair<string, object?>(TrainingTelemetry.FrameworkTag, framework));
            }
        }

        public void Dispose() => metrics._startedRuns.Abandon(jobId, entry);
    }
}
