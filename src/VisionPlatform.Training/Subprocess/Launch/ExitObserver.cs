using VisionPlatform.Training.Subprocess.Logs;
using VisionPlatform.Training.Subprocess.Native;
using VisionPlatform.Training.Subprocess.Runs;
using VisionPlatform.Training.Subprocess.Scheduling;

namespace VisionPlatform.Training.Subprocess.Launch;

/// <summary>
/// Waits for the exit of a trainer this process reaps and records it: the log's final size in the index, the phase
/// from the exit code or signal (with the log's last lines when it failed), then frees the run's slot and GPUs.
/// </summary>
internal sealed class ExitObserver(SubprocessContext context, LogIndexer indexer, RunTransitions transitions, RunScheduler scheduler)
{
    /// <summary>Records the exit when it comes (in the background).</summary>
    /// <param name="entry">The run.</param>
    /// <param name="identity">The trainer process.</param>
    /// <param name="exit">Completes with the exit (from <see cref="IProcessHost.TryGetExit"/>).</param>
    /// <param name="holdsSlot">Whether this executor's slot and GPUs are freed afterwards.</param>
    public void Observe(RunEntry entry, ProcessIdentity identity, Task<ChildExit> exit, bool holdsSlot = true) =>
        _ = ObserveAsync(entry, identity, exit, holdsSlot);

    private async Task ObserveAsync(RunEntry entry, ProcessIdentity identity, Task<ChildExit> exitTask, bool holdsSlot)
    {
        ChildExit exit;
        try
        {
            exit = await exitTask.ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            exit = new ChildExit(null, null);
        }

        if (scheduler.IsClosed)
        {
            // This executor was disposed (its host is going away): it no longer records anything. The next executor
            // over the runs directory records the end, from this process's reaper or the supervisor's exit status.
            return;
        }

        try
        {
            Record(entry, identity, exit);
        }
        catch (IOException e)
        {
            // The run directory was removed under us; there is nothing left to record into.
            SubprocessLog.MonitorFailed(context.Logger, e);
        }

        if (holdsSlot)
        {
            scheduler.Release(entry);
        }
    }

    private void Record(RunEntry entry, ProcessIdentity identity, ChildExit exit)
    {
        indexer.Update(entry);
        indexer.Stop(entry);
        var tail = exit.ExitCode == 0 ? null : LogTail.ReadLastLines(entry.Paths.LogFile, RunTransitions.FailureLogLines);
        transitions.Exited(entry, exit, tail);
        var status = entry.ToStatus();
        SubprocessLog.RunExited(context.Logger, entry.Handle.JobId, identity.Pid, status.Phase, status.Reason, status.ExitCode);
    }
}
