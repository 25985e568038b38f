using VisionPlatform.Training.Subprocess.Monitoring;
using VisionPlatform.Training.Subprocess.Native;

namespace VisionPlatform.Training.Subprocess.Runs;

/// <summary>
/// An executor's in-memory view of one run: its persisted state, its process and the signals that wake watchers.
/// <see cref="State"/> is only changed under <see cref="Sync"/> and always saved to <c>state.json</c> right after; each
/// change is reported to the monitor under the same lock, so its events are in the order of the changes.
/// </summary>
internal sealed class RunEntry(RunPaths paths, RunStateDocument state, TrainingRun handle, SubprocessRunMonitor? monitor = null)
{
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _terminal = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Guards <see cref="State"/>.</summary>
    public object Sync { get; } = new();

    /// <summary>The run's files.</summary>
    public RunPaths Paths { get; } = paths;

    /// <summary>The run's handle.</summary>
    public TrainingRun Handle { get; } = handle;

    /// <summary>The current state (mutated under <see cref="Sync"/>).</summary>
    public RunStateDocument State { get; set; } = state;

    /// <summary>The job, for runs that still have to be launched.</summary>
    public TrainingJobConfig? Config { get; set; }

    /// <summary>The trainer process, once launched or reattached.</summary>
    public ProcessIdentity? Identity { get; set; }

    /// <summary>Whether the run holds a concurrency slot and its GPUs in this executor.</summary>
    public bool HoldsSlot { get; set; }

    /// <summary>Whether this executor indexes the run's log (one indexer per run per OS process).</summary>
    public bool Indexing { get; set; }

    /// <summary>Whether the process is not ours to reap, so its end is found by polling <c>/proc</c>.</summary>
    public bool PollLiveness { get; set; }

    /// <summary>The latest progress from the log, and the log's follower while someone wants its lines.</summary>
    public RunProgressTracker ProgressTracker { get; } = new(paths.LogFile);

    /// <summary>The log size recorded by the last index entry.</summary>
    public long IndexedSize { get; set; }

    /// <summary>Completes when the state changes next.</summary>
    public Task Changed
    {
        get
        {
            lock (Sync)
            {
                return _changed.Task;
            }
        }
    }

    /// <summary>Completes when the run is terminal.</summary>
    public Task Terminal => _terminal.Task;

    /// <summary>Whether the state is terminal.</summary>
    public bool IsTerminal
    {
        get
        {
            lock (Sync)
            {
                return State.Phase is TrainingPhase.Succeeded or TrainingPhase.Failed or TrainingPhase.Stopped or TrainingPhase.Lost;
            }
        }
    }

    /// <summary>Changes the state, saves it and wakes watchers.</summary>
    /// <param name="change">The change; return <see langword="false"/> to skip it.</param>
    /// <returns>Whether the state changed.</returns>
    public bool Update(Func<RunStateDocument, bool> change)
    {
        TaskCompletionSource previous;
        lock (Sync)
        {
            var next = State.Clone();
            if (!change(next))
            {
                return false;
            }

            RunStore.Save(Paths, next);
            var before = State.Phase;
            State = next;
            previous = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
            monitor?.Observe(this, before);
        }

        previous.TrySetResult();
        if (IsTerminal)
        {
            _terminal.TrySetResult();
        }

        return true;
    }

    /// <summary>Adopts a state another executor wrote (for example a recorded exit).</summary>
    /// <param name="state">The newer state.</param>
    public void Replace(RunStateDocument state)
    {
        TaskCompletionSource previous;
        lock (Sync)
        {
            var before = State.Phase;
            State = state;
            previous = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
            monitor?.Observe(this, before);
        }

        previous.TrySetResult();
        if (IsTerminal)
        {
            _terminal.TrySetResult();
        }
    }

    /// <summary>Marks a state that was already terminal when it was loaded.</summary>
    public void CompleteIfTerminal()
    {
        if (IsTerminal)
        {
            _terminal.TrySetResult();
        }
    }

    /// <summary>Publishes the current state of a run the executor has just learnt of (a new job, or one found on disk).</summary>
    public void Announce()
    {
        lock (Sync)
        {
            monitor?.Observe(this, previousPhase: null);
        }
    }

    /// <summary>The public status, with the latest progress and, once terminal, the cost.</summary>
    public TrainingRunStatus ToStatus()
    {
        RunStateDocument s;
        lock (Sync)
        {
            s = State;
        }

        var status = new TrainingRunStatus
        {
            Run = Handle,
            Phase = s.Phase,
            Reason = s.Reason,
            Message = s.Message,
            CreatedAt = s.CreatedAt,
            StartedAt = s.StartedAt,
            FinishedAt = s.FinishedAt,
            ExitCode = s.ExitCode,
            ArtifactUpload = s.ArtifactUpload,
        };
        return monitor is null ? status : monitor.Describe(this, s, status);
    }
}
