using VisionPlatform.Training.Subprocess.Artifacts;
using VisionPlatform.Training.Subprocess.Launch;
using VisionPlatform.Training.Subprocess.Logs;
using VisionPlatform.Training.Subprocess.Native;
using VisionPlatform.Training.Subprocess.Runs;
using VisionPlatform.Training.Subprocess.Scheduling;

namespace VisionPlatform.Training.Subprocess.Recovery;

/// <summary>
/// Takes over a run found on disk (after a host restart, or created by another executor instance): a finished run is
/// reported as it is, a queued run is queued again, a running run is reattached when its process (pid, start time and
/// boot id) still exists and marked Lost when it does not. Live runs are published as news.
/// </summary>
internal sealed class RunRecovery(
    SubprocessContext context,
    RunScheduler scheduler,
    RunTransitions transitions,
    LogIndexer indexer,
    ExitObserver exits,
    RunArtifactUploader? uploads)
{
    /// <summary>Takes over a run just loaded from its <c>state.json</c>.</summary>
    /// <param name="entry">The run.</param>
    /// <param name="state">Its state as loaded.</param>
    public void Recover(RunEntry entry, RunStateDocument state)
    {
        entry.CompleteIfTerminal();
        uploads?.Track(entry);
        if (state.Phase == TrainingPhase.Pending)
        {
            Requeue(entry, state);
        }
        else if (state.Phase == TrainingPhase.Running)
        {
            Reattach(entry, state);
        }

        // Runs that were already finished are not news; live ones (and those recovery just found Lost) are.
        if (state.Phase is TrainingPhase.Pending or TrainingPhase.Running)
        {
            entry.Announce();
        }
    }

    private void Requeue(RunEntry entry, RunStateDocument state)
    {
        try
        {
            entry.Config = state.Config.ToConfig(context.EnvironmentPolicy);
        }
        catch (TrainingValidationException e)
        {
            transitions.LaunchFailed(entry, "The queued job in state.json is no longer valid: " + e.Message);
            return;
        }

        scheduler.Enqueue(entry);
    }

    private void Reattach(RunEntry entry, RunStateDocument state)
    {
        if (state.Pid is not { } pid || state.ProcessStartTicks is not { } ticks)
        {
            transitions.EndedUnobserved(entry, null);
            return;
        }

        var host = context.Host;
        var identity = new ProcessIdentity(pid, ticks, state.BootId, state.RunMarker);
        var exit = host.TryGetExit(identity);
        if (exit is null && host.Probe(identity) != ProcessLiveness.Alive)
        {
            // Ended while no host watched it: its supervisor recorded the exit status (else it is Lost). Kill whatever
            // of the run it left behind (only processes that carry the run's marker).
            host.SignalTree(identity, kill: true);
            transitions.EndedUnobserved(entry, pid);
            return;
        }

        entry.Identity = identity;
        entry.PollLiveness = exit is null;
        scheduler.Hold(entry, state.Gpus);
        indexer.Start(entry, fromExistingIndex: true);
        SubprocessLog.RunReattached(context.Logger, state.JobId, pid);
        if (exit is not null)
        {
            exits.Observe(entry, identity, exit);
        }
    }
}
