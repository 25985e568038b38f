using VisionPlatform.Training.Subprocess.Logs;
using VisionPlatform.Training.Subprocess.Native;
using VisionPlatform.Training.Subprocess.Runs;
using VisionPlatform.Training.Subprocess.Scheduling;

namespace VisionPlatform.Training.Subprocess.Launch;

/// <summary>
/// Launches a queued run that got its slot and GPUs: under the run directory's lock, checks that nobody launched or
/// stopped it meanwhile, builds the launch from the planner, starts the trainer, records it as Running, starts indexing
/// its log and observing its exit. A launch that fails is recorded as Failed / LaunchFailed.
/// </summary>
internal sealed class RunLauncher(
    SubprocessContext context,
    SubprocessLaunchPlanner planner,
    RunTransitions transitions,
    LogIndexer indexer,
    ExitObserver exits,
    RunScheduler scheduler)
{
    /// <summary>Launches a run (called by the scheduler, which has given it a slot and the GPUs).</summary>
    /// <param name="entry">The run.</param>
    /// <param name="gpus">Its GPUs.</param>
    /// <returns>A task that completes when the trainer is launched or the launch is given up.</returns>
    public async Task LaunchAsync(RunEntry entry, int[] gpus)
    {
        var jobId = entry.Handle.JobId;
        try
        {
            using (await context.Shared.Locks.AcquireAsync(entry.Paths.Directory, CancellationToken.None).ConfigureAwait(false))
            {
                // Another executor instance may have launched it, or a stop may have cancelled it meanwhile.
                if (RunStore.TryLoad(entry.Paths) is { } onDisk && onDisk.Phase != TrainingPhase.Pending)
                {
                    entry.Replace(onDisk);
                    scheduler.Release(entry);
                    if (onDisk.Phase == TrainingPhase.Running)
                    {
                        FollowOtherInstance(entry, onDisk);
                    }

                    return;
                }

                if (entry.IsTerminal || scheduler.IsClosed)
                {
                    // Stopped while queued, or this executor is going away: a queued run stays queued on disk.
                    scheduler.Release(entry);
                    return;
                }

                Native.SafeFiles.CreatePrivateDirectory(entry.Paths.OutputDirectory);
                if (entry.Config!.Launcher == TrainingLauncher.TorchRun)
                {
                    // torchrun would create its --log_dir with the host's umask; the workers' streams stay owner-only.
                    Native.SafeFiles.CreatePrivateDirectory(entry.Paths.TorchRunLogDirectory);
                }

                // Only the supervisor this launch starts may record the run's exit.
                File.Delete(entry.Paths.StatusFile);
                var (spec, _) = planner.Build(entry.Config!, entry.Paths, gpus);
                if (spec.ConfigFile is { } file)
                {
                    WriteConfigFile(file);
                }

                var identity = context.Host.Launch(spec);
                transitions.Running(entry, identity, gpus);
                indexer.Start(entry, fromExistingIndex: false);
                SubprocessLog.RunStarted(context.Logger, jobId, identity.Pid, string.Join(',', gpus), entry.Paths.Directory);
                exits.Observe(entry, identity, context.Host.TryGetExit(identity)!);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            SubprocessLog.LaunchFailed(context.Logger, jobId, e);
            try
            {
                transitions.LaunchFailed(entry, $"The trainer could not be launched: {e.Message}");
            }
            catch (IOException)
            {
                // The run directory is gone; nothing more to record.
            }

            scheduler.Release(entry);
        }
    }

    /// <summary>Writes the trainer's config file (temporary file 0600, then rename).</summary>
    private static void WriteConfigFile(LaunchFile file)
    {
        var temp = file.Path + $".{Guid.NewGuid():N}.tmp";
        using (var stream = SafeFiles.CreateNew(temp))
        {
            stream.Write(System.Text.Encoding.UTF8.GetBytes(file.Content));
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, file.Path, overwrite: true);
    }

    /// <summary>Another executor instance of this process launched the run first: follow its process.</summary>
    private void FollowOtherInstance(RunEntry entry, RunStateDocument state)
    {
        if (state.Pid is { } pid && state.ProcessStartTicks is { } ticks)
        {
            var identity = new ProcessIdentity(pid, ticks, state.BootId, state.RunMarker);
            entry.Identity = identity;
            if (context.Host.TryGetExit(identity) is { } exit)
            {
                exits.Observe(entry, identity, exit, holdsSlot: false);
            }
            else
            {
                entry.PollLiveness = true;
            }
        }
    }
}
