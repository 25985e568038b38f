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
/// <para>Thread-safe. Register it with <c>AddInMemoryExecutor()</c>; dispose it (the container does) to cancel pending automatic completions.</para>
/// </remarks>
public sealed class InMemoryTrainingExecutor : ITrainingExecutor, IDisposable
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
    /// <see cref="TrainingErrorCode.JobConflict"/> when the job id exists with a different config.
    /// </exception>
    public Task<TrainingRun> StartAsync(TrainingJobConfig config, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
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
    /// <exception cref="TrainingValidationException"><see cref="TrainingLogOptions.TailLines"/> is negative.</exception>
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
    /// <see cref="TrainingRunQuery.Labels"/> the config's labels; a <see langword="null"/> or empty filter matches every run.
    /// </remarks>
    public Task<IReadOnlyList<TrainingRunStatus>> ListAsync(TrainingRunQuery? query = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        query ??= TrainingRunQuery.All;
        lock (_gate)
        {
            IReadOnlyList<TrainingRunStatus> result = _order
                .Where(r => Matches(r, query))
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

    /// <summary>
    /// Makes the executor available or unavailable. While unavailable, <see cref="CheckAvailabilityAsync"/> reports
    /// <paramref name="reason"/> and <see cref="StartAsync"/> throws <see cref="TrainingErrorCode.ExecutorUnavailable"/>;
    /// existing runs keep working.
    /// </summary>
    /// <param name="available">Whether new runs can start.</param>
    /// <param name="reason">Why not; required when <paramref name="available"/> is <see langword="false"/>.</param>
    public void SetAvailable(bool available, string? reason = null)
    {
        if (!available)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        }

        lock (_gate)
        {
            _available = available;
            _unavailableReason = available ? null : reason;
        }

        InMemoryExecutorLog.AvailabilityChanged(_logger, Name, available ? "available" : "unavailable", reason);
    }

    /// <summary>
    /// Keeps a pending run pending with a new reason, as an executor does while it waits (for example
    /// <see cref="TrainingStatusReasons.WaitingForGpu"/> or <see cref="TrainingStatusReasons.Unschedulable"/>).
    /// </summary>
    /// <param name="run">The run.</param>
    /// <param name="reason">The reason, usually one of <see cref="TrainingStatusReasons"/>.</param>
    /// <param name="message">A human-readable explanation.</param>
    /// <returns>The new status.</returns>
    /// <exception cref="TrainingException"><see cref="TrainingErrorCode.RunNotFound"/> for an unknown run.</exception>
    /// <exception cref="InvalidOperationException">The run is already running or finished.</exception>
    public TrainingRunStatus SetPending(TrainingRun run, string reason, string? message = null)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        lock (_gate)
        {
            var state = Get(run);
            if (state.Current.Phase != TrainingPhase.Pending)
            {
                throw InvalidTransition(state, TrainingPhase.Pending);
            }

            return Transition(state, s => s with { Reason = reason, Message = message });
        }
    }

    /// <summary>Moves a pending run to <see cref="TrainingPhase.Running"/> (the trainer started). A running run is left as it is.</summary>
    /// <param name="run">The run.</param>
    /// <returns>The new status.</returns>
    /// <exception cref="TrainingException"><see cref="TrainingErrorCode.RunNotFound"/> for an unknown run.</exception>
    /// <exception cref="InvalidOperationException">The run already finished.</exception>
    public TrainingRunStatus SetRunning(TrainingRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        lock (_gate)
        {
            var state = Get(run);
            if (state.Current.IsTerminal)
            {
                throw InvalidTransition(state, TrainingPhase.Running);
            }

            return Transition(state, s => Running(s));
        }
    }

    /// <summary>Appends lines to a run's log, timestamped with the executor's clock; followers receive them at once.</summary>
    /// <param name="run">The run.</param>
    /// <param name="lines">The lines, without line terminators.</param>
    /// <exception cref="TrainingException"><see cref="TrainingErrorCode.RunNotFound"/> for an unknown run.</exception>
    /// <exception cref="InvalidOperationException">The run already finished, so its log is closed.</exception>
    public void AppendLog(TrainingRun run, params IEnumerable<string> lines)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(lines);
        var texts = lines.ToArray();
        if (texts.Any(t => t is null))
        {
            throw new ArgumentException("Log lines must not be null.", nameof(lines));
        }

        lock (_gate)
        {
            var state = Get(run);
            if (state.Current.IsTerminal)
            {
                throw new InvalidOperationException(
                    $"Job '{run.JobId}' on executor '{Name}' is {state.Current.Phase}: its log is closed. Append log lines before finishing the run.");
            }

            AppendLines(state, texts);
        }
    }

    /// <summary>
    /// Reports progress as a trainer does: appends a <c>VP_PROGRESS</c> line (<see cref="TrainingProgressProtocol.Format"/>)
    /// to the run's log, which puts the progress into the run's status and publishes a <see cref="TrainingProgressEvent"/>.
    /// <see cref="AppendLog"/> with such a line does the same.
    /// </summary>
    /// <param name="run">The run.</param>
    /// <param name="epoch">The last completed epoch (0 or more).</param>
    /// <param name="totalEpochs">The number of epochs the run trains, when known (usually the config's <c>Epochs</c>).</param>
    /// <param name="metrics">The latest metrics by name, for example <c>loss</c>; NaN or infinite values are left out, as a trainer leaves them out.</param>
    /// <param name="step">The optimizer step reached, when known.</param>
    /// <returns>The run's status with the new progress and its estimate of the time left.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epoch"/> or <paramref name="step"/> is negative, or <paramref name="totalEpochs"/> is not positive.</exception>
    /// <exception cref="TrainingException"><see cref="TrainingErrorCode.RunNotFound"/> for an unknown run.</exception>
    /// <exception cref="InvalidOperationException">The run already finished.</exception>
    public TrainingRunStatus ReportProgress(TrainingRun run, int epoch, int? totalEpochs = null, IReadOnlyDictionary<string, double>? metrics = null, long? step = null)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        if (totalEpochs is { } total)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(total, nameof(totalEpochs));
        }

        AppendLog(run, TrainingProgressProtocol.Format(epoch, totalEpochs, step, metrics));
        lock (_gate)
        {
            return Get(run).View;
        }
    }

    /// <summary>
    /// Whether an event subscriber currently receives progress or log events of the job (the real executors read a
    /// run's log only while one does). Lets a test check that its streaming endpoint ended its subscription when the
    /// client went away. Always <see langword="false"/> for an executor created without a host.
    /// </summary>
    /// <param name="jobId">The job id.</param>
    /// <returns>Whether the job's progress or logs are wanted now.</returns>
    public bool IsFollowed(string jobId)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        return Events is { } events && (events.WantsProgress(jobId) || events.WantsLogs(jobId));
    }

    /// <summary>
    /// Finishes a run as the trainer's exit does: 0 is <see cref="TrainingPhase.Succeeded"/> (<see cref="TrainingStatusReasons.Completed"/>),
    /// 2 is <see cref="TrainingPhase.Failed"/> with <see cref="TrainingStatusReasons.InvalidTrainerInput"/> (the trainer contract's
    /// "bad input" code), any other code is <see cref="TrainingPhase.Failed"/> with <see cref="TrainingStatusReasons.NonZeroExitCode"/>.
    /// </summary>
    /// <param name="run">The run.</param>
    /// <param name="exitCode">The trainer's exit code.</param>
    /// <returns>The terminal status.</returns>
    /// <exception cref="TrainingException"><see cref="TrainingErrorCode.RunNotFound"/> for an unknown run.</exception>
    /// <exception cref="InvalidOperationException">The run already finished.</exception>
    public TrainingRunStatus Complete(TrainingRun run, int exitCode = 0)
    {
        ArgumentNullException.ThrowIfNull(run);
        lock (_gate)
        {
            return Exit(Get(run), exitCode);
        }
    }

    /// <summary>
    /// Fails a run with a reason of your choice, for example <see cref="TrainingStatusReasons.OomKilled"/>,
    /// <see cref="TrainingStatusReasons.ImagePullBackOff"/> or <see cref="TrainingStatusReasons.BackoffLimitExceeded"/>.
    /// </summary>
    /// <param name="run">The run.</param>
    /// <param name="reason">The machine-readable reason, usually one of <see cref="TrainingStatusReasons"/>.</param>
    /// <param name="message">A human-readable explanation.</param>
    /// <param name="exitCode">The trainer's exit code, when it had one.</param>
    /// <returns>The terminal status.</returns>
    /// <exception cref="TrainingException"><see cref="TrainingErrorCode.RunNotFound"/> for an unknown run.</exception>
    /// <exception cref="InvalidOperationException">The run already finished.</exception>
    public TrainingRunStatus Fail(TrainingRun run, string reason, string? message = null, int? exitCode = null)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        lock (_gate)
        {
            var state = Get(run);
            EnsureNotTerminal(state, TrainingPhase.Failed);
            return Transition(state, s => s with
            {
                Phase = TrainingPhase.Failed,
                Reason = reason,
                Message = message,
                ExitCode = exitCode,
                FinishedAt = _time.GetUtcNow(),
            });
        }
    }

    /// <summary>
    /// Marks a run <see cref="TrainingPhase.Lost"/> (<see cref="TrainingStatusReasons.ExitNotObserved"/>), as an executor reports
    /// a run whose outcome it can no longer know, for example after a host restart.
    /// </summary>
    /// <param name="run">The run.</param>
    /// <param name="message">A human-readable explanation.</param>
    /// <returns>The terminal status.</returns>
    /// <exception cref="TrainingException"><see cref="TrainingErrorCode.RunNotFound"/> for an unknown run.</exception>
    /// <exception cref="InvalidOperationException">The run already finished.</exception>
    public TrainingRunStatus MarkLost(TrainingRun run, string? message = null)
    {
        ArgumentNullException.ThrowIfNull(run);
        lock (_gate)
        {
            var state = Get(run);
            EnsureNotTerminal(state, TrainingPhase.Lost);
            return Transition(state, s => s with
            {
                Phase = TrainingPhase.Lost,
                Reason = TrainingStatusReasons.ExitNotObserved,
                Message = message ?? "The run ended while no host watched it; its exit code is unknown.",
                FinishedAt = _time.GetUtcNow(),
            });
        }
    }

    /// <summary>Cancels pending automatic completions. Runs keep their current status.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            foreach (var run in _order)
            {
                run.AutoCompleteTimer?.Dispose();
                run.AutoCompleteTimer = null;
            }
        }
    }

    private static bool Matches(InMemoryRun run, TrainingRunQuery query)
    {
        if (query.ProjectId is not null && !string.Equals(run.Config.ProjectId, query.ProjectId, StringComparison.Ordinal))
        {
            return false;
        }

        if (query.Phases is { Count: > 0 } phases && !phases.Contains(run.Current.Phase))
        {
            return false;
        }

        return query.Labels is null ||
               query.Labels.All(l => run.Config.Labels.TryGetValue(l.Key, out var value) && string.Equals(value, l.Value, StringComparison.Ordinal));
    }

    private void StartAutomaticRun(InMemoryRun run)
    {
        Transition(run, s => Running(s));
        if (_options.AutoCompleteDelay == TimeSpan.Zero)
        {
            FinishAutomaticRun(run);
            return;
        }

        var timer = _time.CreateTimer(_ => FinishAutomaticRun(run), null, _options.AutoCompleteDelay, Timeout.InfiniteTimeSpan);
        if (run.Current.IsTerminal)
        {
            // A fake clock can fire a due timer inside CreateTimer; the run is finished already.
            timer.Dispose();
        }
        else
        {
            run.AutoCompleteTimer = timer;
        }
    }

    private void FinishAutomaticRun(InMemoryRun run)
    {
        lock (_gate)
        {
            // The test may have stopped or finished the run before the timer fired.
            if (_disposed || run.Current.IsTerminal)
            {
                return;
            }

            AppendLines(run, _options.AutoCompleteLog(run.Config).ToArray());
            Exit(run, _options.AutoCompleteExitCode);
        }
    }

    private TrainingRunStatus Exit(InMemoryRun state, int exitCode)
    {
        EnsureNotTerminal(state, exitCode == 0 ? TrainingPhase.Succeeded : TrainingPhase.Failed);
        var now = _time.GetUtcNow();
        return Transition(state, s => s with
        {
            Phase = exitCode == 0 ? TrainingPhase.Succeeded : TrainingPhase.Failed,
            Reason = exitCode switch
            {
                0 => TrainingStatusReasons.Completed,
                2 => TrainingStatusReasons.InvalidTrainerInput,
                _ => TrainingStatusReasons.NonZeroExitCode,
            },
            // The same wording as the subprocess executor, so assertions on messages carry over.
            Message = exitCode switch
            {
                0 => "The trainer exited with code 0.",
                2 => "The trainer ended with exit code 2. Exit code 2 means it rejected its arguments.",
                _ => string.Create(CultureInfo.InvariantCulture, $"The trainer ended with exit code {exitCode}."),
            },
            ExitCode = exitCode,
            StartedAt = s.StartedAt ?? now,
            FinishedAt = now,
        });
    }

    private TrainingRunStatus Running(TrainingRunStatus s) =>
        s.Phase == TrainingPhase.Running
            ? s
            : s with
            {
                Phase = TrainingPhase.Running,
                Reason = TrainingStatusReasons.Running,
                Message = null,
                StartedAt = _time.GetUtcNow(),
            };

    private void AppendLines(InMemoryRun state, string[] texts)
    {
        if (texts.Length == 0)
        {
            return;
        }

        var now = _time.GetUtcNow();
        var publishLogs = Events?.WantsLogs(state.Handle.JobId) == true;
        foreach (var text in texts)
        {
            var line = new TrainingLogLine(text, now, state.Current.Attempt);
            state.Log.Add(line);

            // Progress comes from the log, as in the real executors, so a test's VP_PROGRESS lines count too; like
            // them, the progress event goes out before the line it was read from.
            if (TrainingProgressProtocol.TryParse(text, now, out var progress))
            {
                state.Progress = progress.WithEstimate(state.Current.StartedAt, now);
                Events?.PublishProgress(state.Handle, progress);
            }

            if (publishLogs)
            {
                Events!.PublishLog(state.Handle, line);
            }
        }

        state.Signal();
    }

    private TrainingRunStatus Transition(InMemoryRun state, Func<TrainingRunStatus, TrainingRunStatus> change)
    {
        var next = change(state.Current);
        if (state.Progress is not null)
        {
            next = next with { Progress = state.Progress };
        }

        if (next.IsTerminal)
        {
            var resources = state.Config.Resources;
            next = CostCalculator.WithCost(next, resources?.Gpus ?? 0, resources?.CpuRequest);
        }

        if (next == state.Current)
        {
            return next;
        }

        state.History.Add(next);
        if (next.IsTerminal)
        {
            state.AutoCompleteTimer?.Dispose();
            state.AutoCompleteTimer = null;
        }

        state.Signal();
        InMemoryExecutorLog.RunChanged(_logger, Name, state.Handle.JobId, next.Phase, next.Reason);

        // Under the executor's lock, so subscribers see a run's transitions in the order they happened.
        Events?.PublishStatus(next);
        return next;
    }

    private void EnsureNotTerminal(InMemoryRun state, TrainingPhase target)
    {
        if (state.Current.IsTerminal)
        {
            throw InvalidTransition(state, target);
        }
    }

    private InvalidOperationException InvalidTransition(InMemoryRun state, TrainingPhase target) =>
        new($"Job '{state.Handle.JobId}' on executor '{Name}' is {state.Current.Phase} ({state.Current.Reason}): it cannot become {target}.");

    /// <summary>The run for a handle this executor issued; handles of other executors or other resource ids are unknown.</summary>
    private InMemoryRun? Find(TrainingRun run) =>
        string.Equals(run.ExecutorName, Name, StringComparison.OrdinalIgnoreCase) &&
        _runs.TryGetValue(run.JobId, out var state) &&
        string.Equals(state.Handle.ResourceId, run.ResourceId, StringComparison.Ordinal)
            ? state
            : null;

    private InMemoryRun Get(TrainingRun run) => Find(run) ?? throw RunNotFound(run);

    private TrainingException RunNotFound(TrainingRun run) =>
        new(TrainingErrorCode.RunNotFound, $"Training executor '{Name}' has no run '{run}' (job '{run.JobId}').")
        {
            ExecutorName = Name,
            JobId = run.JobId,
        };

    private TrainingRunStatus NotFound(TrainingRun run) => new()
    {
        Run = run,
        Phase = TrainingPhase.NotFound,
        Reason = TrainingStatusReasons.NotFound,
        Message = $"Training executor '{Name}' has no run for job '{run.JobId}'.",
    };
}
