using VisionPlatform.Training.Subprocess.Runs;

namespace VisionPlatform.Training.Subprocess.Retention;

/// <summary>
/// Removes the directories of terminal runs whose retention has ended (<see cref="RetentionPolicy"/>): all of them at
/// recovery, then at most once a minute from the poll loop, and one at a time when a start finds its job id's run
/// expired. A directory is first renamed out of the way (atomically; names starting with '.' are never runs) and then
/// deleted, so nobody sees half a run. Removal happens under the run directory's lock, never while a start, launch or
/// stop of that run is under way.
/// </summary>
internal sealed class RunRetention(SubprocessContext context, RunCatalog catalog, RetentionPolicy policy)
{
    private static readonly TimeSpan MaxSweepInterval = TimeSpan.FromMinutes(1);
    private readonly object _gate = new();
    private DateTimeOffset _nextSweep = DateTimeOffset.MinValue;

    /// <summary>Sweeps when the last sweep is at least a minute (or the retention, when shorter) ago.</summary>
    public void SweepIfDue()
    {
        var now = context.Time.GetUtcNow();
        lock (_gate)
        {
            if (now < _nextSweep)
            {
                return;
            }

            _nextSweep = now + (policy.Retention < MaxSweepInterval ? policy.Retention : MaxSweepInterval);
        }

        Sweep();
    }

    /// <summary>Removes every known run whose retention has ended; runs someone is working on now wait for the next sweep.</summary>
    public void Sweep()
    {
        foreach (var entry in catalog.Where(policy.IsExpired))
        {
            using var held = context.Shared.Locks.TryAcquire(entry.Paths.Directory);
            if (held is not null && policy.IsExpired(entry))
            {
                RemoveLocked(entry);
            }
        }
    }

    /// <summary>Removes an expired run; the caller holds the run directory's lock.</summary>
    /// <param name="entry">The run.</param>
    /// <returns>Whether the directory is gone (removing it may fail, for example for lack of permissions).</returns>
    public bool RemoveLocked(RunEntry entry)
    {
        catalog.Remove(entry);
        DateTimeOffset? finished;
        lock (entry.Sync)
        {
            finished = entry.State.FinishedAt;
        }

        var directory = entry.Paths.Directory;
        try
        {
            if (Directory.Exists(directory))
            {
                var doomed = Path.Combine(context.RunsDirectory, $".removed.{Guid.NewGuid():N}");
                Directory.Move(directory, doomed);
                Directory.Delete(doomed, recursive: true);
            }

            SubprocessLog.RunRemoved(context.Logger, entry.Handle.JobId, finished, policy.Retention);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            SubprocessLog.RemoveFailed(context.Logger, entry.Handle.JobId, directory, e);
            return !Directory.Exists(directory);
        }
    }
}
