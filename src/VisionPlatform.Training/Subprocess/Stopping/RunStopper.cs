using System.Globalization;
using VisionPlatform.Training.Subprocess.Native;
using VisionPlatform.Training.Subprocess.Runs;
using VisionPlatform.Training.Subprocess.Scheduling;

namespace VisionPlatform.Training.Subprocess.Stopping;

/// <summary>
/// Stops runs: a queued run is Stopped at once and never starts; a running run is marked stop-requested, its process
/// group gets SIGTERM, and SIGKILL after the grace period (repeated until the end is recorded). The escalation runs to
/// its end even when the caller stops waiting.
/// </summary>
internal sealed class RunStopper(SubprocessContext context, RunScheduler scheduler, RunTransitions transitions)
{
    /// <summary>How many more SIGKILLs follow the first when the end is not recorded (bounded re-signalling).</summary>
    internal const int MaxKillRetries = 3;

    /// <summary>The wait for the end between SIGKILLs.</summary>
    private static readonly TimeSpan KillRetryInterval = TimeSpan.FromSeconds(5);

    /// <summary>Stops a run and waits until it has ended.</summary>
    /// <param name="entry">The run.</param>
    /// <param name="gracePeriod">The caller's grace period, or <see langword="null"/> for the configured one.</param>
    /// <param name="cancellationToken">Stops waiting (not the stop).</param>
    /// <returns>The status afterwards.</returns>
    public async Task<TrainingRunStatus> StopAsync(RunEntry entry, TimeSpan? gracePeriod, CancellationToken cancellationToken)
    {
        var grace = gracePeriod ?? context.Options.StopGracePeriod;
        if (grace < TimeSpan.Zero)
        {
            throw new TrainingValidationException([new("GracePeriod", grace.ToString("c", CultureInfo.InvariantCulture), "must not be negative")]);
        }

        ProcessIdentity? identity;
        using (await context.Shared.Locks.AcquireAsync(entry.Paths.Directory, cancellationToken).ConfigureAwait(false))
        {
            if (entry.IsTerminal)
            {
                return entry.ToStatus();
            }

            if (transitions.StopRequested(entry))
            {
                scheduler.Dequeue(entry);
                SubprocessLog.RunStopped(context.Logger, entry.Handle.JobId, TrainingStatusReasons.StoppedByUser);
                return entry.ToStatus();
            }

            identity = entry.Identity;
        }

        if (identity is { } id)
        {
            // The escalation runs to its end even when the caller stops waiting.
            var stopping = TerminateAsync(entry, id, grace);
            await stopping.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        return entry.ToStatus();
    }

    private async Task TerminateAsync(RunEntry entry, ProcessIdentity identity, TimeSpan grace)
    {
        var host = context.Host;
        SubprocessLog.RunStopping(context.Logger, entry.Handle.JobId, identity.Pid, grace);
        host.SignalTree(identity, kill: false);
        if (!await RunWaits.TerminalAsync(entry, grace, context.Time).ConfigureAwait(false))
        {
            SubprocessLog.RunKilled(context.Logger, entry.Handle.JobId, grace);
            host.SignalTree(identity, kill: true);
            await host.WaitForTreeExitAsync(identity).ConfigureAwait(false);
        }

        // SIGKILL cannot be refused; the reaper (or the /proc poll) records the end promptly. Re-signalling is bounded:
        // a process in an uninterruptible wait ends when the kernel lets it, and more signals do not hasten that.
        for (var attempt = 1; !await RunWaits.TerminalAsync(entry, KillRetryInterval, context.Time).ConfigureAwait(false); attempt++)
        {
            if (attempt > MaxKillRetries)
            {
                SubprocessLog.KillGivenUp(context.Logger, entry.Handle.JobId, MaxKillRetries);
                return;
            }

            host.SignalTree(identity, kill: true);
            await host.WaitForTreeExitAsync(identity).ConfigureAwait(false);
        }

        SubprocessLog.RunStopped(context.Logger, entry.Handle.JobId, entry.ToStatus().Reason);
    }
}
