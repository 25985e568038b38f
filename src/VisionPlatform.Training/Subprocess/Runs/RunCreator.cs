using VisionPlatform.Training.Subprocess.Artifacts;
using VisionPlatform.Training.Subprocess.Retention;
using VisionPlatform.Training.Subprocess.Scheduling;

namespace VisionPlatform.Training.Subprocess.Runs;

/// <summary>
/// Creates the run of a new job id, or returns the run the id already names. Under the run directory's lock: the same
/// config hash returns the existing run whatever its phase, a different one is <see cref="TrainingErrorCode.JobConflict"/>;
/// a run whose retention has ended is removed first, so the id starts a new run. <c>state.json</c> is published with an
/// exclusive rename, so only one creator wins, also across processes.
/// </summary>
internal sealed class RunCreator(
    SubprocessContext context,
    RunCatalog catalog,
    RunRetention retention,
    RetentionPolicy policy,
    RunTransitions transitions,
    RunScheduler scheduler,
    RunArtifactUploader? uploads)
{
    /// <summary>Creates and queues the run, or returns the job's existing run.</summary>
    /// <param name="config">The job.</param>
    /// <param name="cancellationToken">Cancels waiting for the run directory's lock.</param>
    /// <returns>The run's handle.</returns>
    public async Task<TrainingRun> CreateAsync(TrainingJobConfig config, CancellationToken cancellationToken)
    {
        var paths = RunPaths.ForJob(context.RunsDirectory, config.JobId);
        RunEntry entry;
        bool added;
        using (await context.Shared.Locks.AcquireAsync(paths.Directory, cancellationToken).ConfigureAwait(false))
        {
            if (catalog.Adopt(paths) is { } existing && !(policy.IsExpired(existing) && retention.RemoveLocked(existing)))
            {
                return SameJobOrConflict(existing, config);
            }

            EnsureQueueHasRoom(config);
            Coordination.RunsDirectoryGuard.EnsureCreated(context.RunsDirectory, context.ExecutorName);
            Native.SafeFiles.CreatePrivateDirectory(paths.Directory);
            var state = transitions.Queued(context.ExecutorName, config, uploads is null ? null : RunArtifactUploader.Initial);
            if (!RunStore.TryCreate(paths, state))
            {
                // Another process created it between our look and our write.
                return catalog.Adopt(paths) is { } raced
                    ? SameJobOrConflict(raced, config)
                    : throw new TrainingException(TrainingErrorCode.ExecutorFailure, $"The run directory '{paths.Directory}' of job '{config.JobId}' exists but its state cannot be read.") { ExecutorName = context.ExecutorName, JobId = config.JobId };
            }

            // A concurrent look-up may have found the new state.json first and has then queued it already.
            (entry, added) = catalog.Add(new RunEntry(paths, state, new TrainingRun(context.ExecutorName, config.JobId, paths.Name), context.Monitor) { Config = config });
            entry.Announce();
        }

        uploads?.Track(entry);
        SubprocessLog.RunQueued(context.Logger, config.JobId, TrainingStatusReasons.WaitingForSlot);
        if (added)
        {
            scheduler.Enqueue(entry);
        }
        else
        {
            scheduler.Pump();
        }

        return entry.Handle;
    }

    /// <summary>Refuses a new run when <see cref="SubprocessExecutorOptions.MaxQueuedRuns"/> runs are already Pending.</summary>
    private void EnsureQueueHasRoom(TrainingJobConfig config)
    {
        var limit = context.Options.MaxQueuedRuns;
        var queued = catalog.Where(IsPending).Length;
        if (queued >= limit)
        {
            throw new TrainingException(
                TrainingErrorCode.QueueFull,
                $"The subprocess executor's queue is full: {queued} runs are waiting (limit {SubprocessContext.OptionsKey}:MaxQueuedRuns = {limit}). Nothing was created; start job '{config.JobId}' again when queued runs have started.")
            {
                ExecutorName = context.ExecutorName,
                JobId = config.JobId,
            };
        }
    }

    private static bool IsPending(RunEntry entry)
    {
        lock (entry.Sync)
        {
            return entry.State.Phase == TrainingPhase.Pending;
        }
    }

    private TrainingRun SameJobOrConflict(RunEntry existing, TrainingJobConfig config)
    {
        string hash;
        lock (existing.Sync)
        {
            hash = existing.State.ConfigHash;
        }

        return hash == config.ConfigHash
            ? existing.Handle
            : throw new TrainingException(
                TrainingErrorCode.JobConflict,
                $"Job '{config.JobId}' already exists on the subprocess executor with a different configuration (run directory '{existing.Paths.Directory}'). Use a new job id, or stop the existing run and start the new job after its retention ({SubprocessContext.OptionsKey}:RunRetention) has removed it.")
            {
                ExecutorName = context.ExecutorName,
                JobId = config.JobId,
            };
    }
}
