using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly.CircuitBreaker;
using VisionPlatform.Training.Diagnostics;

namespace VisionPlatform.Training.Routing;

/// <summary>
/// Starts a run: on the executor that already has the job id, else on the requested executor (default
/// <c>Training:DefaultExecutor</c>) when it is available, else along <c>Training:Fallback:Executors</c>
/// (<see cref="FallbackStarter"/>). One start per job id at a time; a job id never runs on two executors.
/// See docs/resilience.md for the rules.
/// </summary>
internal sealed class StartRouter
{
    private const int JournalCapacity = 10_000;

    private readonly ExecutorDirectory _executors;
    private readonly ExecutorHealth _health;
    private readonly TrainingMetrics _metrics;
    private readonly ILogger _logger;
    private readonly RunPlacementJournal _journal = new(JournalCapacity);
    private readonly KeyedAsyncLock _jobLocks = new();
    private readonly StartFailures _failures;
    private readonly AmbiguousStartResolver _resolver;
    private readonly FallbackStarter _fallbacks;

    public StartRouter(
        ExecutorDirectory executors,
        ExecutorHealth health,
        TrainingMetrics metrics,
        TrainingEventHub events,
        TimeProvider time,
        ILogger<StartRouter>? logger = null)
    {
        _executors = executors;
        _health = health;
        _metrics = metrics;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _failures = new StartFailures(_logger, metrics);
        _resolver = new AmbiguousStartResolver(executors, _journal, _failures, time, _logger);
        _fallbacks = new FallbackStarter(executors, health, _journal, _failures, _resolver, metrics, events, _logger);
    }

    /// <summary>Where this process started (or may have started) each recent job id; <see cref="RunRouter.FindAsync"/> asks there first.</summary>
    public RunPlacementJournal Journal => _journal;

    public async Task<RoutedStart> StartAsync(TrainingJobConfig config, TrainingStartOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        var requested = _executors.Resolve(options?.Executor ?? _executors.DefaultExecutorName);
        using var activity = TrainingActivities.StartStart(config, requested);
        try
        {
            using (await _jobLocks.AcquireAsync(config.JobId, cancellationToken).ConfigureAwait(false))
            {
                using var tracking = _metrics.BeginStart(config.JobId, config.Framework.Value);
                var result = await StartLockedAsync(config, requested, options?.NoFallback ?? false, cancellationToken).ConfigureAwait(false);
                tracking.Started(result.Run);
                TrainingActivities.Started(activity, result);
                return result;
            }
        }
        catch (Exception e) when (TrainingActivities.Failed(activity, e))
        {
            throw;
        }
    }

    private async Task<RoutedStart> StartLockedAsync(TrainingJobConfig config, string requested, bool noFallback, CancellationToken cancellationToken)
    {
        // 1. A job id lives on one executor. If it already has (or may have) a run somewhere, the start goes there.
        var home = await FindHomeAsync(config.JobId, requested, cancellationToken).ConfigureAwait(false);
        if (home is not null)
        {
            return await StartAtHomeAsync(config, requested, home, cancellationToken).ConfigureAwait(false);
        }

        // 2. The requested executor, unless it is known to be unavailable.
        var attempt = await TryRequestedAsync(config, requested, cancellationToken).ConfigureAwait(false);
        if (attempt.Started is { } started)
        {
            return started;
        }

        // 3. The fallbacks, in order, for a job that fits them.
        return await _fallbacks.StartAsync(config, requested, noFallback, attempt.Refusal!, cancellationToken).ConfigureAwait(false);
    }

    private async Task<RoutedStart> StartAtHomeAsync(TrainingJobConfig config, string requested, RunPlacementJournal.Placement home, CancellationToken cancellationToken)
    {
        var jobId = config.JobId;
        TrainingRun run;
        try
        {
            run = await _executors.Get(home.ExecutorName).StartAsync(config, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (ExecutorFailureClassifier.Classify(e, cancellationToken) != ExecutorFailureKind.RequestError)
        {
            var what = home.Certain ? "already has a run" : "may already have a run (an earlier start was sent but never answered)";
            throw _failures.Fail(
                TrainingErrorCode.ExecutorUnavailable,
                config,
                requested,
                ExecutorFailureClassifier.ReasonKind(e),
                $"Job '{jobId}' {what} on '{home.ExecutorName}', which cannot be reached now ({ExecutorFailureClassifier.Describe(e)}). The job is not moved to another executor, so it never runs twice; try again later.",
                e);
        }

        _journal.Started(jobId, run.ExecutorName);
        if (string.Equals(home.ExecutorName, requested, StringComparison.OrdinalIgnoreCase))
        {
            return new RoutedStart(run, requested);
        }

        RoutingLog.ExistingRunRouted(_logger, jobId, home.ExecutorName, requested);
        return new RoutedStart(run, requested, FallbackReason: $"job '{jobId}' already has a run on '{home.ExecutorName}'; a job id never runs on two executors");
    }

    private async Task<(RoutedStart? Started, StartRefusal? Refusal)> TryRequestedAsync(TrainingJobConfig config, string requested, CancellationToken cancellationToken)
    {
        var availability = await _health.GetAvailabilityAsync(requested, cancellationToken).ConfigureAwait(false);
        if (!availability.IsAvailable)
        {
            var kind = _health.IsBlocking(requested) ? "circuit_open" : "unavailable";
            return (null, new StartRefusal(availability.Reason ?? "it reported itself unavailable", kind, Cause: null));
        }

        var executor = _executors.Get(requested);
        try
        {
            var run = await _health.StartThroughBreakerAsync(executor, config, cancellationToken).ConfigureAwait(false);
            _journal.Started(config.JobId, run.ExecutorName);
            return (new RoutedStart(run, requested), null);
        }
        catch (Exception e) when (ExecutorFailureClassifier.Classify(e, cancellationToken) is var kind && kind != ExecutorFailureKind.RequestError)
        {
            var reason = ExecutorFailureClassifier.Describe(e);
            var existing = kind switch
            {
                // The write may still be applied: settle it on this executor, never move the job.
                ExecutorFailureKind.OutcomeUnknown => await _resolver.RepeatStartAsync(executor, config, e, cancellationToken).ConfigureAwait(false),

                // Answered, but the create may have been applied: fall back only once the executor says the run does not exist.
                ExecutorFailureKind.Answered => await _resolver.VerifyAbsentAsync(executor, config, e, cancellationToken).ConfigureAwait(false),
                _ => null,
            };
            if (existing is not null)
            {
                _journal.Started(config.JobId, existing.ExecutorName);
                return (new RoutedStart(existing, requested), null);
            }

            if (kind == ExecutorFailureKind.NotSent && e is not BrokenCircuitException)
            {
                _health.ReportUnavailable(requested, reason);
            }

            return (null, new StartRefusal(reason, ExecutorFailureClassifier.ReasonKind(e), e));
        }
    }

    /// <summary>The executor that already has (or may have) this job's run, or <see langword="null"/> when none is known.</summary>
    private async Task<RunPlacementJournal.Placement?> FindHomeAsync(string jobId, string requested, CancellationToken cancellationToken)
    {
        // Started (or maybe started) by this process: that executor alone may settle it.
        if (_journal.TryGet(jobId, out var placement))
        {
            return placement;
        }

        // A run started by an earlier fallback (possibly by an earlier host process) stays where it is.
        var fallback = _executors.Options.Fallback;
        if (!fallback.Enabled)
        {
            return null;
        }

        foreach (var name in fallback.Executors)
        {
            if (string.Equals(name, requested, StringComparison.OrdinalIgnoreCase) || !_executors.IsRegistered(name))
            {
                continue;
            }

            var found = await _resolver.LookUpAsync(_executors.Get(name), jobId, cancellationToken).ConfigureAwait(false);
            if (found.Run is not null)
            {
                return new RunPlacementJournal.Placement(found.Run.ExecutorName, Certain: true);
            }
        }

        return null;
    }
}

/// <summary>Why the requested executor did not take a start.</summary>
/// <param name="Reason">A sentence.</param>
/// <param name="ReasonKind">The metrics reason.</param>
/// <param name="Cause">The executor's failure, if it failed.</param>
internal sealed record StartRefusal(string Reason, string ReasonKind, Exception? Cause);
