using VisionPlatform.Training.Subprocess.Runs;

namespace VisionPlatform.Training.Subprocess.Monitoring;

/// <summary>
/// Yields a run's current status and every change until a terminal one (<see cref="ITrainingExecutor.WatchAsync"/>):
/// a status is yielded only when <see cref="TrainingRunStatus.IsChangeFrom"/> says it changed (phase, reason, message,
/// exit code, attempt), never for progress alone; progress goes to <see cref="ITrainingEventSource"/> as its own event.
/// </summary>
internal static class StatusWatch
{
    /// <summary>The statuses.</summary>
    /// <param name="entry">The run.</param>
    /// <param name="time">The clock.</param>
    /// <param name="cancellationToken">Stops watching.</param>
    public static async IAsyncEnumerable<TrainingRunStatus> WatchAsync(
        RunEntry entry,
        TimeProvider time,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        TrainingRunStatus? last = null;
        while (true)
        {
            var changed = entry.Changed;
            var status = entry.ToStatus();
            if (status.IsChangeFrom(last))
            {
                yield return status;
                last = status;
            }

            if (status.IsTerminal)
            {
                yield break;
            }

            // Every state change (exit reaped, /proc poll, stop, launch) completes Changed at once; the delay is a
            // safety net for a change nothing signalled.
            await RunWaits.AnyAsync(changed, TimeSpan.FromSeconds(1), time, cancellationToken).ConfigureAwait(false);
        }
    }
}
