namespace VisionPlatform.Training.Testing;

/// <summary>What a test calls to drive runs: availability, phases, log lines, progress and exits.</summary>
public sealed partial class InMemoryTrainingExecutor
{
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
}
