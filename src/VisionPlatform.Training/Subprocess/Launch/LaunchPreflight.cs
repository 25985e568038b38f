using System.Globalization;

namespace VisionPlatform.Training.Subprocess.Launch;

/// <summary>
/// Whether jobs can run on this host, checked before anything is created: the GPUs a job asks for, the interpreter
/// and script it would use, and (for availability) a writable runs directory. Every message names the key to fix.
/// </summary>
internal sealed class LaunchPreflight(SubprocessContext context, SubprocessLaunchPlanner planner)
{
    private int HostGpus => context.Options.Gpus.Count;

    /// <summary>Throws when a job cannot run here: <see cref="TrainingErrorCode.Unschedulable"/> for several nodes, <see cref="TrainingValidationException"/> for too many GPUs, <see cref="TrainingErrorCode.ExecutorUnavailable"/> when its interpreter or script is missing.</summary>
    /// <param name="config">The job.</param>
    public void EnsureRunnable(TrainingJobConfig config)
    {
        // Before anything else: a multi-node job must never run here as a smaller group (for example after a fallback).
        if (DistributedLaunch.Refusal(config) is { } refusal)
        {
            throw new TrainingException(TrainingErrorCode.Unschedulable, $"Job '{config.JobId}' cannot run on the subprocess executor: {refusal}.")
            {
                ExecutorName = context.ExecutorName,
                JobId = config.JobId,
            };
        }

        if (config.Resources.Gpus > HostGpus)
        {
            throw new TrainingValidationException([new(
                "Resources.Gpus",
                config.Resources.Gpus.ToString(CultureInfo.InvariantCulture),
                $"must be at most {HostGpus}: this host hands out {HostGpus} GPU(s), configured in {SubprocessContext.OptionsKey}:Gpus")]);
        }

        if (planner.CheckLaunchable(config.Framework) is { } problem)
        {
            throw new TrainingException(TrainingErrorCode.ExecutorUnavailable, problem) { ExecutorName = context.ExecutorName, JobId = config.JobId };
        }

        // The contract's limits (an advanced config too large for one argument, an argument or variable longer than
        // execve takes) fail the start now, with the limit named, not the launch later with E2BIG.
        _ = planner.Build(config, Runs.RunPaths.ForJob(context.RunsDirectory, config.JobId), []);
    }

    /// <summary>A job fits this host when it runs on one node and requests no more GPUs than <c>Training:Subprocess:Gpus</c> lists.</summary>
    /// <param name="config">The job.</param>
    public TrainingPlacement CheckPlacement(TrainingJobConfig config) =>
        DistributedLaunch.Refusal(config) is { } refusal ? TrainingPlacement.DoesNotFit(refusal)
        : config.Resources.Gpus <= HostGpus ? TrainingPlacement.Fit
        : TrainingPlacement.DoesNotFit(
            $"the job requests {config.Resources.Gpus} GPU(s) but this host hands out {HostGpus} ({SubprocessContext.OptionsKey}:Gpus)");

    /// <summary>
    /// Whether the runs directory is writable and the configured interpreters and scripts exist: unavailable when the
    /// directory is not writable or no configured entry can launch; available with the problems as its reason when
    /// only some entries (for example one framework's virtual environment) are missing.
    /// </summary>
    public ExecutorAvailability CheckAvailability()
    {
        var now = context.Time.GetUtcNow();
        var runsDirectory = context.RunsDirectory;
        try
        {
            if (Coordination.RunsDirectoryGuard.Check(runsDirectory) is { } problem)
            {
                return ExecutorAvailability.Unavailable(problem, now);
            }

            Native.SafeFiles.CreatePrivateDirectory(runsDirectory);
            var probe = Path.Combine(runsDirectory, $".probe.{Guid.NewGuid():N}");
            Native.SafeFiles.CreateNew(probe).Dispose();
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return ExecutorAvailability.Unavailable(
                $"The runs directory '{runsDirectory}' is not writable ({e.Message}): fix {SubprocessContext.OptionsKey}:RunsDirectory or its permissions.", now);
        }

        // A missing environment of one framework must not refuse jobs of another: the executor is unavailable only when
        // no configured entry (the default, or a framework's own) can launch; otherwise the problems are a note that the
        // health check reports, and a job whose own interpreter or script is missing is refused by EnsureRunnable.
        var problems = TrainerFiles.Problems(planner, context.Options, SubprocessContext.OptionsKey);
        if (problems.Count == 0)
        {
            return ExecutorAvailability.Available(now);
        }

        var launchable = context.Options.Frameworks.Keys.Select(k => new TrainingFramework(k)).Prepend(new TrainingFramework(string.Empty))
            .Any(f => planner.CheckLaunchable(f) is null);
        var reason = string.Join(" ", problems);
        return launchable
            ? new ExecutorAvailability(true, $"Jobs that use these settings cannot start: {reason}", now)
            : ExecutorAvailability.Unavailable(reason, now);
    }
}
