using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using VisionPlatform.Training.Diagnostics;
using VisionPlatform.Training.Routing;

namespace VisionPlatform.Training;

/// <summary>
/// The one entry point for hosts: an <see cref="ITrainingExecutor"/> that starts new runs on the requested executor
/// (<c>Training:DefaultExecutor</c> unless the request names another), falls back along <c>Training:Fallback:Executors</c>
/// when that executor is unavailable, and sends every other operation to the executor recorded in the run's handle,
/// so runs keep working after the default changes. See docs/resilience.md for the rules.
/// </summary>
public sealed class TrainingExecutorManager : ITrainingExecutor, IDisposable
{
    private const int JournalCapacity = 10_000;

    private readonly IServiceProvider _services;
    private readonly IOptionsMonitor<TrainingOptions> _options;
    private readonly IReadOnlyList<string> _names;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TrainingMetrics _metrics;
    private readonly bool _ownsMetrics;
    private readonly ExecutorAvailabilityCache _availability;
    private readonly ExecutorCircuitBreakers _breakers;
    private readonly RunPlacementJournal _journal = new(JournalCapacity);
    private readonly KeyedAsyncLock _jobLocks = new();

    /// <summary>Creates the manager over the registered executors.</summary>
    /// <param name="services">Resolves executors by name.</param>
    /// <param name="registrations">The registered executor names, in registration order.</param>
    /// <param name="options">The root options (default executor, fallback, availability).</param>
    /// <param name="timeProvider">The clock for availability caching and the circuit breakers; <see langword="null"/> for the system clock.</param>
    /// <param name="loggerFactory">Creates the manager's logger; <see langword="null"/> for no logging.</param>
    /// <param name="meterFactory">Creates the <c>VisionPlatform.Training</c> meter; <see langword="null"/> for a private meter.</param>
    public TrainingExecutorManager(
        IServiceProvider services,
        IEnumerable<TrainingExecutorRegistration> registrations,
        IOptionsMonitor<TrainingOptions> options,
        TimeProvider? timeProvider = null,
        ILoggerFactory? loggerFactory = null,
        IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(registrations);
        ArgumentNullException.ThrowIfNull(options);
        _services = services;
        _options = options;
        _names = registrations.Select(r => r.Name).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)loggerFactory?.CreateLogger<TrainingExecutorManager>() ?? NullLogger.Instance;
        // Shared with the event hub and the Kubernetes handler when registered; a private one for a hand-built manager.
        var shared = services.GetService<TrainingMetrics>();
        _ownsMetrics = shared is null;
        _metrics = shared ?? new TrainingMetrics(meterFactory, _time);
        _availability = new ExecutorAvailabilityCache(_time, () => _options.CurrentValue.Availability, _logger);
        _breakers = new ExecutorCircuitBreakers(_time, () => _options.CurrentValue.Availability.CircuitBreaker, _logger);
    }

    /// <summary>The manager's name; runs it starts carry the name of the executor that really runs them.</summary>
    public string Name => "manager";

    /// <summary>The registered executor names, in registration order.</summary>
    public IReadOnlyList<string> ExecutorNames => _names;

    /// <summary>The executor new runs go to unless a request names another.</summary>
    public string DefaultExecutorName => _options.CurrentValue.DefaultExecutor;

    /// <summary>
    /// The executors a start without an override tries, in order: the default, then the configured fallbacks
    /// (none when <c>Training:Fallback:Enabled</c> is <see langword="false"/>).
    /// </summary>
    public IReadOnlyList<string> DefaultChain => [DefaultExecutorName, .. FallbacksFor(DefaultExecutorName, noFallback: false)];

    /// <summary>Returns a registered executor by name.</summary>
    /// <param name="name">The executor's name.</param>
    /// <returns>The executor.</returns>
    /// <exception cref="TrainingException"><see cref="TrainingErrorCode.UnknownExecutor"/> when no executor has that name.</exception>
    public ITrainingExecutor GetExecutor(string name) => _services.GetRequiredKeyedService<ITrainingExecutor>(Resolve(name));

    /// <inheritdoc />
    public async Task<TrainingRun> StartAsync(TrainingJobConfig config, CancellationToken cancellationToken = default) =>
        (await StartAsync(config, options: (TrainingStartOptions?)null, cancellationToken).ConfigureAwait(false)).Run;

    /// <summary>Starts a run on a named executor (or the default when <see langword="null"/>), with the configured fallback.</summary>
    /// <param name="config">The job.</param>
    /// <param name="executorName">The executor to use; <see langword="null"/> for <c>Training:DefaultExecutor</c>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The run's handle; use the <see cref="TrainingStartOptions"/> overload to learn whether it fell back.</returns>
    public async Task<TrainingRun> StartAsync(TrainingJobConfig config, string? executorName, CancellationToken cancellationToken = default) =>
        (await StartAsync(config, new TrainingStartOptions { Executor = executorName }, cancellationToken).ConfigureAwait(false)).Run;

    /// <summary>
    /// Starts a run on the requested executor, or on a fallback when it is unavailable. Request errors (validation,
    /// forbidden, rejected, conflict) always surface; a fallback happens only when the job fits the fallback executor.
    /// A job id never runs on two executors: see docs/resilience.md for exactly what is guaranteed.
    /// </summary>
    /// <param name="config">The job.</param>
    /// <param name="options">The executor override and the no-fallback switch; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels the call (not the run).</param>
    /// <returns>The run and where it went.</returns>
    /// <exception cref="TrainingException">
    /// <see cref="TrainingErrorCode.ExecutorUnavailable"/> when no executor in the chain could take the job,
    /// <see cref="TrainingErrorCode.Unschedulable"/> when the requested executor is unavailable and the job does not
    /// fit any fallback, or the executor's own error for a request error.
    /// </exception>
    public async Task<TrainingStartResult> StartAsync(TrainingJobConfig config, TrainingStartOptions? options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        var requested = Resolve(options?.Executor ?? DefaultExecutorName);
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

    /// <summary>
    /// Whether an executor can take new runs now: its cached probe (refreshed when older than
    /// <c>Training:Availability:RefreshInterval</c>) and its circuit breaker.
    /// </summary>
    /// <param name="executorName">The executor.</param>
    /// <param name="cancellationToken">Stops waiting for a probe.</param>
    /// <returns>The availability with its reason.</returns>
    public Task<ExecutorAvailability> GetAvailabilityAsync(string executorName, CancellationToken cancellationToken = default)
    {
        var name = Resolve(executorName);
        return _breakers.IsBlocking(name)
            ? Task.FromResult(ExecutorAvailability.Unavailable(
                $"the circuit breaker is open after repeated start failures (Training:Availability:CircuitBreaker)", _time.GetUtcNow()))
            : _availability.GetAsync(GetExecutor(name), cancellationToken);
    }

    /// <inheritdoc />
    public Task<TrainingRunStatus> GetStatusAsync(TrainingRun run, CancellationToken cancellationToken = default) =>
        For(run).GetStatusAsync(run, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<TrainingRunStatus> WatchAsync(TrainingRun run, CancellationToken cancellationToken = default) =>
        For(run).WatchAsync(run, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<TrainingLogLine> GetLogsAsync(TrainingRun run, TrainingLogOptions? options = null, CancellationToken cancellationToken = default) =>
        For(run).GetLogsAsync(run, options, cancellationToken);

    /// <inheritdoc />
    public async Task<TrainingRunStatus> StopAsync(TrainingRun run, TrainingStopOptions? options = null, CancellationToken cancellationToken = default)
    {
        var executor = For(run);
        using var activity = TrainingActivities.StartStop(run);
        try
        {
            var status = await executor.StopAsync(run, options, cancellationToken).ConfigureAwait(false);
            TrainingActivities.Stopped(activity, status);
            return status;
        }
        catch (Exception e) when (TrainingActivities.Failed(activity, e))
        {
            throw;
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<TrainingRunStatus>> ListAsync(TrainingRunQuery? query = null, CancellationToken cancellationToken = default)
    {
        var all = new List<TrainingRunStatus>();
        foreach (var name in _names)
        {
            all.AddRange(await GetExecutor(name).ListAsync(query, cancellationToken).ConfigureAwait(false));
        }

        return all;
    }

    /// <summary>
    /// Finds a run by job id alone: asks the executor this process started it on first, then the default, the
    /// fallbacks and the other registered executors in order. An executor that cannot be asked does not hide a run:
    /// when none of the others has it, the call fails naming that executor.
    /// </summary>
    /// <param name="jobId">The caller's job id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The run, or <see langword="null"/> when no executor has it.</returns>
    /// <exception cref="TrainingException"><see cref="TrainingErrorCode.ExecutorUnavailable"/> when the run was not found and an executor could not be asked.</exception>
    public async Task<TrainingRun?> FindAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        var order = new List<string>();
        if (_journal.TryGet(jobId, out var placement))
        {
            order.Add(placement.ExecutorName);
        }

        order.AddRange(DefaultChain.Where(n => _names.Contains(n, StringComparer.OrdinalIgnoreCase)));
        order.AddRange(_names);
        var failures = new List<string>();
        foreach (var name in order.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            try
            {
                var run = await GetExecutor(name).FindAsync(jobId, cancellationToken).ConfigureAwait(false);
                if (run is not null)
                {
                    return run;
                }
            }
            catch (Exception e) when (ExecutorFailureClassifier.Classify(e, cancellationToken) != ExecutorFailureKind.RequestError)
            {
                failures.Add($"'{name}': {ExecutorFailureClassifier.Describe(e)}");
            }
        }

        return failures.Count == 0
            ? null
            : throw new TrainingException(
                TrainingErrorCode.ExecutorUnavailable,
                $"Job '{jobId}' was not found, but these executors could not be asked and may have it: {string.Join("; ", failures)}.")
            { JobId = jobId };
    }

    /// <summary>The default executor's availability (cached probe and circuit breaker).</summary>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>The availability.</returns>
    public Task<ExecutorAvailability> CheckAvailabilityAsync(CancellationToken cancellationToken = default) =>
        GetAvailabilityAsync(DefaultExecutorName, cancellationToken);

    /// <summary>Disposes the private meter, if the manager created one.</summary>
    public void Dispose()
    {
        if (_ownsMetrics)
        {
            _metrics.Dispose();
        }
    }

    /// <summary>Probes every registered executor now (used by the background refresher).</summary>
    internal async Task RefreshAvailabilityAsync(CancellationToken cancellationToken)
    {
        foreach (var name in _names)
        {
            try
            {
                await _availability.RefreshAsync(GetExecutor(name), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                RoutingLog.AvailabilityRefreshFailed(_logger, name, e);
            }
        }
    }

    private async Task<TrainingStartResult> StartLockedAsync(TrainingJobConfig config, string requested, bool noFallback, CancellationToken cancellationToken)
    {
        var jobId = config.JobId;

        // 1. A job id lives on one executor. If it already has (or may have) a run somewhere, the start goes there.
        var home = await FindHomeAsync(jobId, requested, cancellationToken).ConfigureAwait(false);
        if (home is not null)
        {
            TrainingRun homeRun;
            try
            {
                homeRun = await GetExecutor(home.ExecutorName).StartAsync(config, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (ExecutorFailureClassifier.Classify(e, cancellationToken) != ExecutorFailureKind.RequestError)
            {
                var what = home.Certain ? "already has a run" : "may already have a run (an earlier start was sent but never answered)";
                throw Fail(
                    TrainingErrorCode.ExecutorUnavailable,
                    config,
                    requested,
                    ExecutorFailureClassifier.ReasonKind(e),
                    $"Job '{jobId}' {what} on '{home.ExecutorName}', which cannot be reached now ({ExecutorFailureClassifier.Describe(e)}). The job is not moved to another executor, so it never runs twice; try again later.",
                    e);
            }

            _journal.Started(jobId, homeRun.ExecutorName);
            if (string.Equals(home.ExecutorName, requested, StringComparison.OrdinalIgnoreCase))
            {
                return new TrainingStartResult { Run = homeRun, RequestedExecutor = requested };
            }

            RoutingLog.ExistingRunRouted(_logger, jobId, home.ExecutorName, requested);
            return new TrainingStartResult
            {
                Run = homeRun,
                RequestedExecutor = requested,
                FallbackReason = $"job '{jobId}' already has a run on '{home.ExecutorName}'; a job id never runs on two executors",
            };
        }

        // 2. The requested executor, unless it is known to be unavailable.
        var preferred = GetExecutor(requested);
        string reason;
        string reasonKind;
        Exception? cause = null;
        var availability = await GetAvailabilityAsync(requested, cancellationToken).ConfigureAwait(false);
        if (!availability.IsAvailable)
        {
            reason = availability.Reason ?? "it reported itself unavailable";
            reasonKind = _breakers.IsBlocking(requested) ? "circuit_open" : "unavailable";
        }
        else
        {
            var unanswered = UnansweredRequestScope.Begin();
            try
            {
                var run = await StartThroughBreakerAsync(preferred, config, cancellationToken).ConfigureAwait(false);
                _journal.Started(jobId, run.ExecutorName);
                return new TrainingStartResult { Run = run, RequestedExecutor = requested };
            }
            catch (Exception e) when (ExecutorFailureClassifier.Classify(e, cancellationToken) is var kind && kind != ExecutorFailureKind.RequestError)
            {
                cause = e;
                reason = ExecutorFailureClassifier.Describe(e);
                reasonKind = ExecutorFailureClassifier.ReasonKind(e);
                if (kind == ExecutorFailureKind.NotSent)
                {
                    if (e is not BrokenCircuitException)
                    {
                        _availability.ReportUnavailable(requested, reason);
                    }
                }
                else
                {
                    // The create may have reached the executor: only fall back once it says the run does not exist.
                    var existing = await ResolveAmbiguousAsync(preferred, config, e, unanswered, cancellationToken).ConfigureAwait(false);
                    if (existing is not null)
                    {
                        _journal.Started(jobId, existing.ExecutorName);
                        return new TrainingStartResult { Run = existing, RequestedExecutor = requested };
                    }
                }
            }
        }

        // 3. The fallbacks, in order, for a job that fits them.
        var fallbacks = FallbacksFor(requested, noFallback);
        if (fallbacks.Count == 0)
        {
            var why = noFallback
                ? "The request disabled fallback (TrainingStartOptions.NoFallback)."
                : !_options.CurrentValue.Fallback.Enabled
                    ? "Fallback is disabled (Training:Fallback:Enabled is false)."
                    : "No fallback executor is configured (Training:Fallback:Executors).";
            throw Fail(TrainingErrorCode.ExecutorUnavailable, config, requested, reasonKind, $"Executor '{requested}' cannot start job '{jobId}': {reason.TrimEnd('.')}. {why}", cause);
        }

        var refusals = new List<string>();
        var doesNotFit = false;
        foreach (var name in fallbacks)
        {
            if (!_names.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                refusals.Add($"fallback '{name}' is not registered");
                continue;
            }

            var executor = GetExecutor(name);
            if (executor is ITrainingExecutorPlacement placement && placement.CheckPlacement(config) is { Fits: false } misfit)
            {
                doesNotFit = true;
                refusals.Add($"the job does not fit fallback '{name}': {misfit.Reason}");
                continue;
            }

            var fallbackAvailability = await GetAvailabilityAsync(name, cancellationToken).ConfigureAwait(false);
            if (!fallbackAvailability.IsAvailable)
            {
                refusals.Add($"fallback '{name}' is unavailable too: {fallbackAvailability.Reason}");
                continue;
            }

            TrainingRun run;
            var unansweredOnFallback = UnansweredRequestScope.Begin();
            try
            {
                run = await StartThroughBreakerAsync(executor, config, cancellationToken).ConfigureAwait(false);
            }
            catch (TrainingException e) when (e.Code == TrainingErrorCode.Unschedulable)
            {
                doesNotFit = true;
                refusals.Add($"the job does not fit fallback '{name}': {e.Message}");
                continue;
            }
            catch (Exception e) when (ExecutorFailureClassifier.Classify(e, cancellationToken) is var kind && kind != ExecutorFailureKind.RequestError)
            {
                var existing = kind == ExecutorFailureKind.Ambiguous
                    ? await ResolveAmbiguousAsync(executor, config, e, unansweredOnFallback, cancellationToken).ConfigureAwait(false)
                    : null;
                if (existing is null)
                {
                    refusals.Add($"fallback '{name}' failed: {ExecutorFailureClassifier.Describe(e)}");
                    continue;
                }

                run = existing;
            }

            var fallbackReason = $"'{requested}' is unavailable: {reason}";
            _journal.Started(jobId, run.ExecutorName);
            RoutingLog.FellBack(_logger, jobId, requested, run.ExecutorName, fallbackReason);
            _metrics.FellBack(requested, run.ExecutorName, reasonKind);
            (_services.GetService<ITrainingEventSource>() as ITrainingEventPublisher)?.PublishFallback(run, requested, fallbackReason);
            return new TrainingStartResult { Run = run, RequestedExecutor = requested, IsFallback = true, FallbackReason = fallbackReason };
        }

        throw Fail(
            doesNotFit ? TrainingErrorCode.Unschedulable : TrainingErrorCode.ExecutorUnavailable,
            config,
            requested,
            doesNotFit ? "does_not_fit" : reasonKind,
            $"Job '{jobId}' cannot start: executor '{requested}' is unavailable ({reason}) and {string.Join("; ", refusals)}.",
            cause);
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
        if (!_options.CurrentValue.Fallback.Enabled)
        {
            return null;
        }

        foreach (var name in _options.CurrentValue.Fallback.Executors)
        {
            if (string.Equals(name, requested, StringComparison.OrdinalIgnoreCase) || !_names.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            var found = await LookUpAsync(GetExecutor(name), jobId, cancellationToken).ConfigureAwait(false);
            if (found.Run is not null)
            {
                return new RunPlacementJournal.Placement(found.Run.ExecutorName, Certain: true);
            }
        }

        return null;
    }

    /// <summary>
    /// After an ambiguous start failure (a timeout or 5xx after the request may have reached the executor): returns the
    /// run when it exists there after all and <see langword="null"/> when it provably does not; otherwise throws and
    /// binds the job id to that executor.
    /// <list type="bullet">
    /// <item><description>Every request was answered (for example 500s): the server is done with them, so a lookup is
    /// authoritative.</description></item>
    /// <item><description>A state-changing request went unanswered: the server may still apply it, so "not found" proves
    /// nothing. Only an idempotent repeat of the start on the same executor settles it.</description></item>
    /// </list>
    /// </summary>
    private async Task<TrainingRun?> ResolveAmbiguousAsync(
        ITrainingExecutor executor, TrainingJobConfig config, Exception failure, UnansweredRequestScope unanswered, CancellationToken cancellationToken)
    {
        if (!unanswered.Any)
        {
            return await VerifyAbsentAsync(executor, config, failure, cancellationToken).ConfigureAwait(false);
        }

        var jobId = config.JobId;
        var timeout = _options.CurrentValue.Fallback.VerifyTimeout;
        using var deadline = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            var run = await executor.StartAsync(config, linked.Token).ConfigureAwait(false);
            RoutingLog.AmbiguousStartFound(_logger, jobId, executor.Name);
            return run;
        }
        catch (Exception e) when (ExecutorFailureClassifier.Classify(e, cancellationToken) != ExecutorFailureKind.RequestError)
        {
            _journal.MaybeStarted(jobId, executor.Name);
            var again = e is OperationCanceledException ? $"no answer within {timeout} (Training:Fallback:VerifyTimeout)" : ExecutorFailureClassifier.Describe(e);
            RoutingLog.AmbiguousStartUnresolved(_logger, jobId, executor.Name, again);
            throw Fail(
                TrainingErrorCode.ExecutorUnavailable,
                config,
                executor.Name,
                "unresolved",
                $"Starting job '{jobId}' on '{executor.Name}' sent a request that was never answered ({ExecutorFailureClassifier.Describe(failure)}); the server may still create the run, and repeating the start did not settle it ({again}). The job stays with '{executor.Name}' and is not moved to another executor, so it cannot run twice; start it again later.",
                failure);
        }
    }

    /// <summary>
    /// After an ambiguous start failure: returns the run when it exists on the executor after all, <see langword="null"/>
    /// when the executor confirms it does not, and throws when it cannot confirm either within
    /// <c>Training:Fallback:VerifyTimeout</c> (the job id is then remembered as maybe-started there).
    /// </summary>
    private async Task<TrainingRun?> VerifyAbsentAsync(ITrainingExecutor executor, TrainingJobConfig config, Exception failure, CancellationToken cancellationToken)
    {
        var jobId = config.JobId;
        var found = await LookUpAsync(executor, jobId, cancellationToken).ConfigureAwait(false);
        if (found.Failure is { } lookupFailure)
        {
            _journal.MaybeStarted(jobId, executor.Name);
            RoutingLog.AmbiguousStartUnresolved(_logger, jobId, executor.Name, lookupFailure);
            throw Fail(
                TrainingErrorCode.ExecutorUnavailable,
                config,
                executor.Name,
                "unresolved",
                $"Starting job '{jobId}' on '{executor.Name}' failed after the request may have reached it ({ExecutorFailureClassifier.Describe(failure)}), and '{executor.Name}' could not confirm within {_options.CurrentValue.Fallback.VerifyTimeout} whether the run was created ({lookupFailure}). The job was not moved to another executor, so it cannot run twice; start it again later.",
                failure);
        }

        if (found.Run is null)
        {
            return null;
        }

        RoutingLog.AmbiguousStartFound(_logger, jobId, executor.Name);

        // The run exists: a repeated start is idempotent and tells a conflicting config apart from ours.
        try
        {
            return await executor.StartAsync(config, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (ExecutorFailureClassifier.Classify(e, cancellationToken) != ExecutorFailureKind.RequestError)
        {
            return found.Run;
        }
    }

    private async Task<(TrainingRun? Run, string? Failure)> LookUpAsync(ITrainingExecutor executor, string jobId, CancellationToken cancellationToken)
    {
        var timeout = _options.CurrentValue.Fallback.VerifyTimeout;
        using var deadline = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            var run = await executor.FindAsync(jobId, linked.Token).WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(false);
            return (run, null);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is not TrainingValidationException)
        {
            var message = e is OperationCanceledException or TimeoutException
                ? $"no answer within {timeout} (Training:Fallback:VerifyTimeout)"
                : ExecutorFailureClassifier.Describe(e);
            RoutingLog.LookupFailed(_logger, jobId, executor.Name, message);
            return (null, message);
        }
    }

    private Task<TrainingRun> StartThroughBreakerAsync(ITrainingExecutor executor, TrainingJobConfig config, CancellationToken cancellationToken) =>
        _breakers.Pipeline(executor.Name)
            .ExecuteAsync(static async (state, ct) => await state.executor.StartAsync(state.config, ct).ConfigureAwait(false), (executor, config), cancellationToken)
            .AsTask();

    private TrainingException Fail(TrainingErrorCode code, TrainingJobConfig config, string requested, string reasonKind, string message, Exception? cause)
    {
        RoutingLog.StartFailed(_logger, config.JobId, requested, message);
        _metrics.StartFailed(requested, reasonKind);
        return new TrainingException(code, message, cause) { ExecutorName = requested, JobId = config.JobId };
    }

    private List<string> FallbacksFor(string requested, bool noFallback)
    {
        var f = _options.CurrentValue.Fallback;
        return !f.Enabled || noFallback
            ? []
            : f.Executors.Where(n => !string.Equals(n, requested, StringComparison.OrdinalIgnoreCase))
                .Distinct(StringComparer.OrdinalIgnoreCase)
                .ToList();
    }

    private string Resolve(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _names.FirstOrDefault(n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase))
            ?? throw new TrainingException(
                TrainingErrorCode.UnknownExecutor,
                $"No training executor named '{name}' is registered. Registered: {string.Join(", ", _names)}. Register it (for example .AddKubernetes()) or fix Training:DefaultExecutor, Training:Fallback:Executors or the request's executor.");
    }

    private ITrainingExecutor For(TrainingRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return GetExecutor(run.ExecutorName);
    }
}
