using Microsoft.Extensions.Logging;
using VisionPlatform.Training.Subprocess.Native;

namespace VisionPlatform.Training.Subprocess.Runs;

/// <summary>
/// Every change of a run's phase, in one place: queued, waiting, running, exited, stopped while queued, lost, failed to
/// launch. Each is one <see cref="RunEntry.Update"/> (saved to <c>state.json</c>, published, watchers woken).
/// </summary>
internal sealed class RunTransitions(TimeProvider time, ILogger logger)
{
    /// <summary>How many of the log's last lines a failure message carries.</summary>
    public const int FailureLogLines = 10;

    /// <summary>The first state of a new run: Pending, waiting for a slot.</summary>
    /// <param name="executorName">The executor's name.</param>
    /// <param name="config">The job.</param>
    /// <param name="upload">The initial upload state, or <see langword="null"/> when the run is not uploaded.</param>
    public RunStateDocument Queued(string executorName, TrainingJobConfig config, ArtifactUploadStatus? upload) => new()
    {
        JobId = config.JobId,
        Executor = executorName,
        ConfigHash = config.ConfigHash,
        Config = ConfigDocument.From(config),
        Phase = TrainingPhase.Pending,
        Reason = TrainingStatusReasons.WaitingForSlot,
        Message = "Queued.",
        CreatedAt = time.GetUtcNow(),
        ArtifactUpload = upload,
    };

    /// <summary>Records why a queued run still waits (a slot or GPUs), when that changed.</summary>
    /// <param name="entry">The run.</param>
    /// <param name="reason">The reason.</param>
    /// <param name="message">The message.</param>
    public static void Waiting(RunEntry entry, string reason, string message) => entry.Update(s =>
    {
        if (s.Phase != TrainingPhase.Pending || s.Reason == reason)
        {
            return false;
        }

        s.Reason = reason;
        s.Message = message;
        return true;
    });

    /// <summary>Records a launched trainer.</summary>
    /// <param name="entry">The run.</param>
    /// <param name="identity">The trainer process.</param>
    /// <param name="gpus">The GPUs handed to it.</param>
    public void Running(RunEntry entry, ProcessIdentity identity, int[] gpus)
    {
        var now = time.GetUtcNow();
        entry.Identity = identity;
        entry.Update(s =>
        {
            s.Phase = TrainingPhase.Running;
            s.Reason = TrainingStatusReasons.Running;
            s.Message = null;
            s.StartedAt = now;
            s.Pid = identity.Pid;
            s.ProcessStartTicks = identity.StartTicks;
            s.BootId = identity.BootId;
            s.RunMarker = identity.Marker;
            s.Gpus = gpus;
            return true;
        });
    }

    /// <summary>Records how a running trainer ended.</summary>
    /// <param name="entry">The run.</param>
    /// <param name="exit">How it ended.</param>
    /// <param name="lastLines">The log's last lines, for failure messages.</param>
    public void Exited(RunEntry entry, ChildExit exit, string? lastLines)
    {
        var now = time.GetUtcNow();
        entry.Update(s =>
        {
            if (s.Phase != TrainingPhase.Running)
            {
                return false;
            }

            var (phase, reason, message) = ExitStatus.Describe(exit, s.StopRequested, lastLines, entry.Config?.Launcher == TrainingLauncher.TorchRun);
            s.Phase = phase;
            s.Reason = reason;
            s.Message = message;
            s.ExitCode = exit.ExitCode is null && exit.Signal is null ? null : exit.CombinedCode;
            s.Signal = exit.Signal;
            s.FinishedAt = now;
            return true;
        });
    }

    /// <summary>Marks a stop as requested; a queued run is stopped at once.</summary>
    /// <param name="entry">The run.</param>
    /// <returns><see langword="true"/> when the run was queued and is now Stopped.</returns>
    public bool StopRequested(RunEntry entry)
    {
        var now = time.GetUtcNow();
        var wasPending = false;
        entry.Update(s =>
        {
            s.StopRequested = true;
            if (s.Phase == TrainingPhase.Pending)
            {
                wasPending = true;
                s.Phase = TrainingPhase.Stopped;
                s.Reason = TrainingStatusReasons.StoppedByUser;
                s.Message = "Stopped while queued; the trainer never started.";
                s.FinishedAt = now;
            }

            return true;
        });
        return wasPending;
    }

    /// <summary>Records that a run could not be launched (or its queued job can no longer be).</summary>
    /// <param name="entry">The run.</param>
    /// <param name="message">Why.</param>
    public void LaunchFailed(RunEntry entry, string message)
    {
        var now = time.GetUtcNow();
        entry.Update(s =>
        {
            s.Phase = TrainingPhase.Failed;
            s.Reason = TrainingStatusReasons.LaunchFailed;
            s.Message = message;
            s.FinishedAt = now;
            return true;
        });
    }

    /// <summary>
    /// Records the end of a live run's process that this host did not reap (it ended while no host watched, or under
    /// another host): the exit status its supervisor recorded in the run directory when there is one (Succeeded or
    /// Failed with the real exit code), else <see cref="Lost"/>.
    /// </summary>
    /// <param name="entry">The run.</param>
    /// <param name="pid">Its process id, when known.</param>
    public void EndedUnobserved(RunEntry entry, int? pid)
    {
        if (Native.RunSupervisor.TryRead(entry.Paths.StatusFile) is { } recorded)
        {
            var tail = recorded.ExitCode == 0 ? null : Logs.LogTail.ReadLastLines(entry.Paths.LogFile, FailureLogLines);
            Exited(entry, recorded, tail);
            return;
        }

        Lost(entry, pid);
    }

    /// <summary>
    /// Records that a live run's process ended while no host observed it: Lost (its exit code is unknowable), or Stopped
    /// when a stop had been requested.
    /// </summary>
    /// <param name="entry">The run.</param>
    /// <param name="pid">Its process id, when known.</param>
    public void Lost(RunEntry entry, int? pid)
    {
        var now = time.GetUtcNow();
        var stopped = false;
        entry.Update(s =>
        {
            if (s.Phase is not (TrainingPhase.Running or TrainingPhase.Pending))
            {
                return false;
            }

            stopped = s.StopRequested;
            s.Phase = stopped ? TrainingPhase.Stopped : TrainingPhase.Lost;
            s.Reason = stopped ? TrainingStatusReasons.StoppedByUser : TrainingStatusReasons.ExitNotObserved;
            s.Message = stopped
                ? "Stopped; the trainer ended while no host observed it, so its exit code is unknown."
                : "The trainer process ended while no host observed it (for example the host restarted), so its exit code is unknown.";
            s.FinishedAt = now;
            return true;
        });
        if (!stopped)
        {
            SubprocessLog.RunLost(logger, entry.Handle.JobId, pid);
        }
    }
}
