using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VisionPlatform.Training.Storage;
using VisionPlatform.Training.Subprocess.Artifacts;
using VisionPlatform.Training.Subprocess.Coordination;
using VisionPlatform.Training.Subprocess.Launch;
using VisionPlatform.Training.Subprocess.Logs;
using VisionPlatform.Training.Subprocess.Monitoring;
using VisionPlatform.Training.Subprocess.Native;
using VisionPlatform.Training.Subprocess.Recovery;
using VisionPlatform.Training.Subprocess.Retention;
using VisionPlatform.Training.Subprocess.Runs;
using VisionPlatform.Training.Subprocess.Scheduling;
using VisionPlatform.Training.Subprocess.Stopping;
using VisionPlatform.Training.Trainers;

namespace VisionPlatform.Training.Subprocess;

/// <summary>
/// The parts of one <see cref="SubprocessTrainingExecutor"/>, each with one job, wired to each other here (the
/// executor's composition root). Creating it joins the runs directory's shared state and starts the poll loop.
/// </summary>
internal sealed class SubprocessParts
{
    /// <param name="root">The root options; <see cref="TrainingOptions.Subprocess"/> and <see cref="TrainingOptions.Trainer"/> are used.</param>
    /// <param name="contract">How jobs become trainer arguments.</param>
    /// <param name="timeProvider">The clock (defaults to the system clock).</param>
    /// <param name="logger">The logger.</param>
    /// <param name="artifactStore">Where finished runs are uploaded, or <see langword="null"/>.</param>
    /// <param name="events">Where run changes are published, or <see langword="null"/>.</param>
    /// <param name="cost">Prices terminal runs, or <see langword="null"/> for unpriced.</param>
    public SubprocessParts(
        TrainingOptions root,
        ITrainerContract contract,
        TimeProvider? timeProvider,
        ILogger? logger,
        IArtifactStore? artifactStore,
        ITrainingEventPublisher? events,
        TrainingCostCalculator? cost)
    {
        var subprocess = root.Subprocess;
        var time = timeProvider ?? TimeProvider.System;
        var log = logger ?? NullLogger.Instance;
        var runsDirectory = Path.GetFullPath(string.IsNullOrWhiteSpace(subprocess.RunsDirectory)
            ? RunsDirectoryGuard.Default
            : subprocess.RunsDirectory);

        // A runs directory that is not the host's own (another owner, group/other-writable, a symbolic link) is refused
        // before anything in it is trusted.
        RunsDirectoryGuard.Verify(runsDirectory, TrainingExecutorNames.Subprocess);
        Context = new SubprocessContext
        {
            ExecutorName = TrainingExecutorNames.Subprocess,
            RunsDirectory = runsDirectory,
            Options = subprocess,
            EnvironmentPolicy = TrainingEnvironmentPolicy.FromOptions(root),
            Time = time,
            Logger = log,
            Host = ProcessHosts.Current,
            Shared = SharedRunsDirectory.Join(runsDirectory),
            Monitor = new SubprocessRunMonitor(events, cost ?? TrainingCostCalculator.Unpriced, time, subprocess.PollInterval, log),
        };
        Planner = new SubprocessLaunchPlanner(root, contract, artifactStore);
        Uploads = artifactStore is not null && subprocess.UploadArtifacts
            ? new RunArtifactUploader(artifactStore, Context.Shared.Uploads, subprocess, time, log, events)
            : null;

        var transitions = new RunTransitions(time, log);
        var policy = new RetentionPolicy(subprocess.RunRetention, time, uploads: Uploads is not null);
        RunLauncher? launcher = null;
        Indexer = new LogIndexer(Context.Shared.Indexing, time);
        Scheduler = new RunScheduler(subprocess, (entry, gpus) => launcher!.LaunchAsync(entry, gpus));
        var exits = new ExitObserver(Context, Indexer, transitions, Scheduler);
        launcher = new RunLauncher(Context, Planner, transitions, Indexer, exits, Scheduler);
        var recovery = new RunRecovery(Context, Scheduler, transitions, Indexer, exits, Uploads);
        Catalog = new RunCatalog(Context, policy, recovery.Recover);
        Retention = new RunRetention(Context, Catalog, policy);
        Creator = new RunCreator(Context, Catalog, Retention, policy, transitions, Scheduler, Uploads);
        Stopper = new RunStopper(Context, Scheduler, transitions);
        Logs = new RunLogReader(time, subprocess.PollInterval);
        Preflight = new LaunchPreflight(Context, Planner);
        Poller = new RunPoller(Context, Catalog, Indexer, transitions, Scheduler, Retention);
    }

    /// <summary>What every part shares.</summary>
    public SubprocessContext Context { get; }

    /// <summary>Builds launches (program, arguments, environment).</summary>
    public SubprocessLaunchPlanner Planner { get; }

    /// <summary>Uploads finished runs, or <see langword="null"/> without artifact storage.</summary>
    public RunArtifactUploader? Uploads { get; }

    /// <summary>Slots and GPUs.</summary>
    public RunScheduler Scheduler { get; }

    /// <summary>The known runs.</summary>
    public RunCatalog Catalog { get; }

    /// <summary>Removes runs whose retention has ended.</summary>
    public RunRetention Retention { get; }

    /// <summary>Creates runs (or returns the job's run).</summary>
    public RunCreator Creator { get; }

    /// <summary>Stops runs.</summary>
    public RunStopper Stopper { get; }

    /// <summary>Keeps the log timestamp index.</summary>
    public LogIndexer Indexer { get; }

    /// <summary>Reads logs.</summary>
    public RunLogReader Logs { get; }

    /// <summary>Checks jobs and the host before anything is created.</summary>
    public LaunchPreflight Preflight { get; }

    /// <summary>The poll loop.</summary>
    public RunPoller Poller { get; }
}
