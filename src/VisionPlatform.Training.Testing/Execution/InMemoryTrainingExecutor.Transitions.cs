using System.Globalization;

namespace VisionPlatform.Training.Testing;

/// <summary>How a run changes: automatic runs, exits, log lines with their progress, and publishing each change.</summary>
public sealed partial class InMemoryTrainingExecutor
{
    private void StartAutomaticRun(InMemoryRun run)
    {
        Transition(run, s => Running(s));
        run.AutoExitCode = _options.AutoCompleteExitCodeFor is { } decide ? decide(run.Config) : _options.AutoCompleteExitCode;
        if (run.AutoExitCode is null)
        {
            // Runs until the test (or a caller) stops it.
            return;
        }

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
            Exit(run, run.AutoExitCode ?? _options.AutoCompleteExitCode);
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

    /// <summary>The run for a handle this executor issued; handles of other executors, other resource ids or expired runs are unknown.</summary>
    private InMemoryRun? Find(TrainingRun run)
    {
        RemoveExpired();
        return string.Equals(run.ExecutorName, Name, StringComparison.OrdinalIgnoreCase) &&
               _runs.TryGetValue(run.JobId, out var state) &&
               string.Equals(state.Handle.ResourceId, run.ResourceId, StringComparison.Ordinal)
            ? state
            : null;
    }

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

    /// <summary>
    /// Forgets finished runs whose <see cref="InMemoryExecutorOptions.RunRetention"/> has passed, as a Kubernetes Job's TTL
    /// or the subprocess executor's retention removes them: their handles become unknown and their job ids free.
    /// </summary>
    private void RemoveExpired()
    {
        if (_options.RunRetention is not { } retention)
        {
            return;
        }

        var now = _time.GetUtcNow();
        var expired = _order.Where(r => r.Current.IsTerminal && r.Current.FinishedAt is { } finished && finished + retention <= now).ToArray();
        foreach (var run in expired)
        {
            _order.Remove(run);
            if (_runs.TryGetValue(run.Handle.JobId, out var current) && ReferenceEquals(current, run))
            {
                _runs.Remove(run.Handle.JobId);
            }

            InMemoryExecutorLog.RunExpired(_logger, Name, run.Handle.JobId, run.Handle.ResourceId);
        }
    }
}
