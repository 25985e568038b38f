using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace VisionPlatform.Training.Testing;

/// <summary>
/// An <see cref="ITrainingExecutor"/> that keeps runs in memory, for testing code that starts and watches training
/// jobs without processes or clusters. It keeps the executor contract: starts are idempotent per job id (a different
/// config throws <see cref="TrainingErrorCode.JobConflict"/>), unknown runs report <see cref="TrainingPhase.NotFound"/>,
/// log streams and watches end when the run is terminal, and stop is idempotent.
/// </summary>
/// <remarks>
/// <para>
/// Runs start <see cref="TrainingPhase.Pending"/> and only move when the test says so: <see cref="SetRunning"/>,
/// <see cref="AppendLog"/>, <see cref="Complete"/>, <see cref="Fail"/>, <see cref="MarkLost"/>, or
/// <see cref="ITrainingExecutor.StopAsync"/>. With <see cref="InMemoryExecutorOptions.AutoComplete"/> they run and
/// finish on their own after a delay measured with the <see cref="TimeProvider"/> (a <c>FakeTimeProvider</c> works).
/// </para>
/// <para>
/// Registered with <c>AddInMemoryExecutor()</c>, it publishes what happens to its runs to the host's
/// <see cref="ITrainingEventSource"/> as the real executors do: phase changes, progress (from <c>VP_PROGRESS</c> log lines,
/// see <see cref="ReportProgress"/>) and log lines, so a backend can test its server-sent-events or WebSocket code
/// against it. Terminal statuses carry <see cref="TrainingRunStatus.Cost"/> (priced by <c>Training:Cost</c> in a host).
/// </para>
/// <para>
/// It refuses what a real executor would refuse before starting anything (<see cref="InMemoryExecutorOptions.MaxGpus"/>), and
/// follows the shared rule for a job id used before: the same config returns the run whatever its phase, a different one is
/// a conflict, until <see cref="InMemoryExecutorOptions.RunRetention"/> ends the finished run's record. It passes the
/// executor conformance suite (<see cref="ExecutorConformanceSuite"/>).
/// </para>
/// <para>Thread-safe. Register it with <c>AddInMemoryExecutor()</c>; dispose it (the container does) to cancel pending automatic completions.</para>
/// </remarks>
public sealed partial class InMemoryTrainingExecutor : ITrainingExecutor, IDisposable
{
    /// <summary>The name <c>AddInMemoryExecutor()</c> registers by default.</summary>
    public const string DefaultName = "in-memory";

    private readonly Lock _gate = new();
    private readonly Dictionary<string, InMemoryRun> _runs = new(StringComparer.Ordinal);
    private readonly List<InMemoryRun> _order = [];
    private readonly List<TrainingJobConfig> _started = [];
    private readonly InMemoryExecutorOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private bool _available;
    private string? _unavailableReason;
    private long _sequence;
    private bool _disposed;


    /// <summary>Creates an in-memory executor.</summary>
    /// <param name="name">The executor's registered name, recorded in every handle (default <c>in-memory</c>).</param>
    /// <param name="options">Behaviour options; <see langword="null"/> for the defaults (test-driven transitions). The executor keeps a copy.</param>
    /// <param name="timeProvider">The clock for timestamps and automatic completion; <see langword="null"/> for <see cref="TimeProvider.System"/>.</param>
    /// <param name="logger">Debug logging of starts and transitions; <see langword="null"/> for none.</param>
    /// <param name="events">Where transitions, progress and log lines are published (the host's <see cref="ITrainingEventPublisher"/>); <see langword="null"/> for none.</param>
    /// <param name="costCalculator">Puts the cost on terminal statuses (the host's price table); <see langword="null"/> for <see cref="TrainingCostCalculator.Unpriced"/>.</param>
    /// <exception cref="ArgumentException">The name is blank or an option is invalid (the message names it).</exception>
    public InMemoryTrainingExecutor(
        string name = DefaultName,
        InMemoryExecutorOptions? options = null,
        TimeProvider? timeProvider = null,
        ILogger<InMemoryTrainingExecutor>? logger = null,
        ITrainingEventPublisher? events = null,
        TrainingCostCalculator? costCalculator = null)
    {
        Events = events;
        CostCalculator = costCalculator ?? TrainingCostCalculator.Unpriced;
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        _options = (options ?? new InMemoryExecutorOptions()).Clone();
        _options.ThrowIfInvalid();
        Name = name;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _available = _options.Available;
        _unavailableReason = _options.UnavailableReason;
    }

    /// <inheritdoc />
    public string Name { get; }

    private ITrainingEventPublisher? Events { get; }

    private TrainingCostCalculator CostCalculator { get; }

    /// <summary>
    /// The configs of the runs this executor started, in start order. An idempotent repeat of a start adds nothing,
    /// so <c>StartedJobs.Should().ContainSingle()</c> proves a job was not started twice.
    /// </summary>
    public IReadOnlyList<TrainingJobConfig> StartedJobs
    {
        get
        {
            lock (_gate)
            {
                return _started.ToArray();
            }
        }
    }

    /// <inheritdoc />
    /// <exception cref="TrainingException">
    /// <see cref="TrainingErrorCode.ExecutorUnavailable"/> after <see cref="SetAvailable"/>(false);
    /// <see cref="TrainingErrorCode.JobConflict"/> when the job id has a run with a different config, whatever its phase,
    /// until <see cref="InMemoryExecutorOptions.RunRetention"/> ends its record.
    /// </exception>
    /// <exception cref="TrainingValidationException">The job asks for more than the options allow (<see cref="InMemoryExecutorOptions.MaxGpus"/>); nothing starts.</exception>
    /// <remarks>
    /// The same job id with the same config returns its run whatever its phase (pending, running, succeeded, failed or
    /// stopped) for as long as the executor keeps the run's record; once <see cref="InMemoryExecutorOptions.RunRetention"/>
    /// has passed since it finished, the job id starts a new run.
    /// </remarks>
    public Task<TrainingRun> StartAsync(TrainingJobConfig config, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        cancellationToken.ThrowIfCancellationRequested();
        InMemoryJobRules.ThrowIfRefused(config, _options, Name);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            RemoveExpired();
            if (!_available)
            {
                throw new TrainingException(
                    TrainingErrorCode.ExecutorUnavailable,
                    $"Training executor '{Name}' cannot start job '{config.JobId}': {_unavailableReason}")
                {
                    ExecutorName = Name,
                    JobId = config.JobId,
                };
            }

            if (_runs.TryGetValue(config.JobId, out var existing))
            {
                if (string.Equals(existing.Config.ConfigHash, config.ConfigHash, StringComparison.Ordinal))
                {
                    return Task.FromResult(existing.Handle);
                }

                throw new TrainingException(
                    TrainingErrorCode.JobConflict,
                    $"Job '{config.JobId}' already exists on training executor '{Name}' with a different configuration " +
                    $"(config hash {existing.Config.ConfigHash[..12]} vs {config.ConfigHash[..12]}): a job id can only be started with one configuration; use a new job id.")
                {
                    ExecutorName = Name,
                    JobId = config.JobId,
                };
            }

            var now = _time.GetUtcNow();
            var handle = new TrainingRun(Name, config.JobId, "run-" + (++_sequence).ToString("D6", CultureInfo.InvariantCulture));
            var run = new InMemoryRun(handle, config, new TrainingRunStatus
            {
                Run = handle,
                Phase = TrainingPhase.Pending,
                Reason = TrainingStatusReasons.Starting,
                CreatedAt = now,
            });
            _runs.Add(config.JobId, run);
            _order.Add(run);
            _started.Add(config);
            InMemoryExecutorLog.RunStarted(_logger, Name, config.JobId, handle.ResourceId);
            Events?.PublishStatus(run.Current);

            if (_options.AutoComplete)
            {
                StartAutomaticRun(run);
            }

            return Task.FromResult(handle);
        }
    }

    /// <inheritdoc />
    public Task<TrainingRunStatus> GetStatusAsync(TrainingRun run, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return Task.FromResult(Find(run)?.View ?? NotFound(run));
        }
    }

    /// <inheritdoc />
    /// <remarks>An unknown run yields one <see cref="TrainingPhase.NotFound"/> status and ends.</remarks>
    public async IAsyncEnumerable<TrainingRunStatus> WatchAsync(
        TrainingRun run,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        cancellationToken.ThrowIfCancellationRequested();
        InMemoryRun? state;
        int next;
        lock (_gate)
        {
            state = Find(run);
            next = state is null ? 0 : state.History.Count - 1;
        }

        if (state is null)
        {
            yield return NotFound(run);
            yield break;
        }

        // Only changes of the status itself (TrainingRunStatus.IsChangeFrom), as the real executors report them.
        TrainingRunStatus? last = null;
        while (true)
        {
            TrainingRunStatus[] batch;
            Task changed;
            lock (_gate)
            {
                batch = state.History.Skip(next).ToArray();
                next = state.History.Count;
                changed = state.Changed;
            }

            foreach (var status in batch)
            {
                if (!status.IsChangeFrom(last))
                {
                    continue;
                }

                last = status;
                yield return status;
                if (status.IsTerminal)
                {
                    yield break;
                }
            }

            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    /// <exception cref="TrainingException"><see cref="TrainingErrorCode.RunNotFound"/> when the executor has no such run.</exception>
    /// <exception cref="TrainingValidationException"><see cref="TrainingLogOptions.TailLines"/> is negative, or <see cref="TrainingLogOptions.NodeRank"/> is not a node of the run (the in-memory log is every node's).</exception>
    public async IAsyncEnumerable<TrainingLogLine> GetLogsAsync(
        TrainingRun run,
        TrainingLogOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        options ??= TrainingLogOptions.Default;
        if (options.TailLines is < 0)
        {
            throw new TrainingValidationException(
                [new TrainingValidationError(nameof(TrainingLogOptions.TailLines), options.TailLines.Value.ToString(CultureInfo.InvariantCulture), "must be 0 or more")]);
        }

        cancellationToken.ThrowIfCancellationRequested();
        InMemoryRun state;
        lock (_gate)
        {
            state = Find(run) ?? throw RunNotFound(run);
        }

        if (options.NodeRank is { } rank && (rank < 0 || rank >= state.Config.Nodes))
        {
            throw new TrainingValidationException([new TrainingValidationError(
                nameof(TrainingLogOptions.NodeRank), rank.ToString(CultureInfo.InvariantCulture),
                $"must be between 0 and {state.Config.Nodes - 1}, a node of the run (it has {state.Config.Nodes})")]);
        }

        var next = 0;
        var first = true;
        while (true)
        {
            TrainingLogLine[] batch;
            bool terminal;
            Task changed;
            lock (_gate)
            {
                IEnumerable<TrainingLogLine> lines = state.Log.Skip(next);
                if (options.Since is { } since)
                {
                    lines = lines.Where(l => l.Timestamp >= since);
                }

                batch = lines.ToArray();
                if (first && options.TailLines is { } tail && batch.Length > tail)
                {
                    batch = batch[^tail..];
                }

                next = state.Log.Count;
                terminal = state.Current.IsTerminal;
                changed = state.Changed;
            }

            first = false;
            foreach (var line in batch)
            {
                yield return options.Timestamps ? line : line with { Timestamp = null };
            }

            // The batch and the terminal flag were read together, so a terminal run's log is fully drained here.
            if (!options.Follow || terminal)
            {
                yield break;
            }

            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// A pending or running run becomes <see cref="TrainingPhase.Stopped"/> (<see cref="TrainingStatusReasons.StoppedByUser"/>) at once;
    /// a finished run is returned unchanged; an unknown run gives <see cref="TrainingPhase.NotFound"/>.
    /// </remarks>
    /// <exception cref="TrainingValidationException"><see cref="TrainingStopOptions.GracePeriod"/> is negative.</exception>
    public Task<TrainingRunStatus> StopAsync(TrainingRun run, TrainingStopOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (options?.GracePeriod is { } grace && grace < TimeSpan.Zero)
        {
            throw new TrainingValidationException(
                [new TrainingValidationError(nameof(TrainingStopOptions.GracePeriod), grace.ToString("c", CultureInfo.InvariantCulture), "must not be negative")]);
        }

        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var state = Find(run);
            if (state is null)
            {
                return Task.FromResult(NotFound(run));
            }

            if (state.Current.IsTerminal)
            {
                return Task.FromResult(state.View);
            }

            return Task.FromResult(Transition(state, s => s with
            {
                Phase = TrainingPhase.Stopped,
                Reason = TrainingStatusReasons.StoppedByUser,
                Message = "Stopped on request.",
                FinishedAt = _time.GetUtcNow(),
            }));
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Runs are listed in start order. <see cref="TrainingRunQuery.ProjectId"/> matches the config's project id,
    /// <see cref="TrainingRunQuery.Labels"/> the config's labels (every queried key with exactly that value, as a Kubernetes
    /// equality selector), <see cref="TrainingRunQuery.Phases"/> the current phase; a <see langword="null"/> or empty filter
    /// matches every run. Runs whose record expired (<see cref="InMemoryExecutorOptions.RunRetention"/>) are not listed.
    /// </remarks>
    public Task<IReadOnlyList<TrainingRunStatus>> ListAsync(TrainingRunQuery? query = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        query ??= TrainingRunQuery.All;
        lock (_gate)
        {
            RemoveExpired();
            IReadOnlyList<TrainingRunStatus> result = _order
                .Where(r => InMemoryRunQuery.Matches(r.Config, r.Current.Phase, query))
                .Select(r => r.View)
                .ToArray();
            return Task.FromResult(result);
        }
    }

    /// <inheritdoc />
    public Task<TrainingRun?> FindAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            RemoveExpired();
            return Task.FromResult(_runs.TryGetValue(jobId, out var run) ? run.Handle : null);
        }
    }

    /// <inheritdoc />
    public Task<ExecutorAvailability> CheckAvailabilityAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            return Task.FromResult(_available
                ? ExecutorAvailability.Available(now)
                : ExecutorAvailability.Unavailable(_unavailableReason!, now));
        }
    }
}
