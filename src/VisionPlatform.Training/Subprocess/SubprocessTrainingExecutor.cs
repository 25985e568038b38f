using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VisionPlatform.Training.Storage;
using VisionPlatform.Training.Subprocess.Launch;
using VisionPlatform.Training.Subprocess.Logs;
using VisionPlatform.Training.Subprocess.Monitoring;
using VisionPlatform.Training.Subprocess.Recovery;
using VisionPlatform.Training.Subprocess.Retention;
using VisionPlatform.Training.Subprocess.Runs;
using VisionPlatform.Training.Subprocess.Scheduling;
using VisionPlatform.Training.Subprocess.Stopping;
using VisionPlatform.Training.Trainers;

namespace VisionPlatform.Training.Subprocess;

/// <summary>
/// Runs training jobs as local trainer processes (the platform's <c>train.py</c>), one run directory each.
/// <list type="bullet">
/// <item><description>Never a shell: the interpreter gets the script and the trainer contract's arguments as a list; the environment is an allow-list plus the platform's variables.</description></item>
/// <item><description>On Linux each trainer leads its own session and process group; stop signals the whole group, and leftovers are killed when the trainer exits.</description></item>
/// <item><description>The trainer writes its log straight into <c>train.log</c>; state lives in <c>state.json</c>, so a new host finds, reattaches to and reports earlier runs.</description></item>
/// <item><description>At most <see cref="SubprocessExecutorOptions.MaxConcurrentRuns"/> run at once and GPUs are never shared; the rest wait as Pending.</description></item>
/// </list>
/// This class is the facade: each concern is a part of its own (runs: <see cref="RunCatalog"/>, <see cref="RunCreator"/>;
/// scheduling: <see cref="RunScheduler"/>; launch: <see cref="RunLauncher"/>, <see cref="ExitObserver"/>; recovery:
/// <see cref="RunRecovery"/>; stop: <see cref="RunStopper"/>; logs: <see cref="RunLogReader"/>, <see cref="LogIndexer"/>;
/// the poll loop: <see cref="RunPoller"/>; retention: <see cref="RunRetention"/>). See <c>docs/subprocess.md</c>.
/// </summary>
public sealed class SubprocessTrainingExecutor : ITrainingExecutor, ITrainingExecutorPlacement, IAsyncDisposable, IDisposable
{
    private readonly SubprocessParts _parts;
    private int _disposed;

    /// <summary>Creates the executor.</summary>
    /// <param name="options">The root options; <see cref="TrainingOptions.Subprocess"/> and <see cref="TrainingOptions.Trainer"/> are used.</param>
    /// <param name="contract">How jobs become trainer arguments.</param>
    /// <param name="timeProvider">The clock (defaults to the system clock).</param>
    /// <param name="logger">The logger.</param>
    /// <param name="artifactStore">
    /// Where finished runs are uploaded (output directory and log), unless <see cref="SubprocessExecutorOptions.UploadArtifacts"/>
    /// is off; <see langword="null"/> keeps every run on local disk only.
    /// </param>
    /// <param name="events">Where the runs' phase changes, progress, log lines and uploads are published; <see langword="null"/> for none.</param>
    /// <param name="cost">Prices terminal runs; <see langword="null"/> for <see cref="TrainingCostCalculator.Unpriced"/>.</param>
    public SubprocessTrainingExecutor(
        IOptions<TrainingOptions> options,
        ITrainerContract contract,
        TimeProvider? timeProvider = null,
        ILogger<SubprocessTrainingExecutor>? logger = null,
        IArtifactStore? artifactStore = null,
        ITrainingEventPublisher? events = null,
        TrainingCostCalculator? cost = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(contract);
        var root = options.Value;
        _parts = new SubprocessParts(root, contract, timeProvider, logger, artifactStore, events, cost);
    }

    /// <inheritdoc />
    public string Name => _parts.Context.ExecutorName;

    /// <summary>The absolute directory holding one directory per run.</summary>
    public string RunsDirectory => _parts.Context.RunsDirectory;

    /// <summary>How many runs' logs are followed now because a subscriber wants their progress or log lines.</summary>
    internal int FollowedRuns => _parts.Context.Monitor.FollowedRuns;

    /// <summary>
    /// What would run for a job, without side effects: the program, the argument list and the environment names
    /// (values only for non-secret settings). GPUs shown are those that would be handed out if it started now.
    /// </summary>
    /// <param name="config">The job.</param>
    /// <returns>The plan.</returns>
    public SubprocessLaunchPlan CreateLaunchPlan(TrainingJobConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var paths = RunPaths.ForJob(_parts.Context.RunsDirectory, config.JobId);
        var (spec, display) = _parts.Planner.Build(config, paths, _parts.Scheduler.PreviewGpus(config.Resources.Gpus));
        return new SubprocessLaunchPlan(spec.FileName, spec.Arguments, spec.WorkingDirectory, spec.LogPath, display);
    }

    /// <inheritdoc />
    public Task<TrainingRun> StartAsync(TrainingJobConfig config, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        _parts.Preflight.EnsureRunnable(config);
        EnsureRecovered();
        return _parts.Creator.CreateAsync(config, cancellationToken);
    }

    /// <inheritdoc />
    public Task<TrainingRunStatus> GetStatusAsync(TrainingRun run, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        EnsureRecovered();
        return Task.FromResult(_parts.Catalog.Resolve(run)?.ToStatus() ?? NotFound(run));
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<TrainingRunStatus> WatchAsync(TrainingRun run, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        EnsureRecovered();
        if (_parts.Catalog.Resolve(run) is not { } entry)
        {
            yield return NotFound(run);
            yield break;
        }

        await foreach (var status in StatusWatch.WatchAsync(entry, _parts.Context.Time, cancellationToken).ConfigureAwait(false))
        {
            yield return status;
        }
    }

    /// <inheritdoc />
    public IAsyncEnumerable<TrainingLogLine> GetLogsAsync(TrainingRun run, TrainingLogOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (options?.NodeRank is { } rank && rank != 0)
        {
            // A subprocess run has one node (several are refused at start), so node 0 holds every rank's output.
            throw new TrainingValidationException([new TrainingValidationError(
                nameof(TrainingLogOptions.NodeRank), rank.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "must be 0 on the subprocess executor: its runs have one node, whose log holds every rank's lines")]);
        }

        EnsureRecovered();
        var entry = _parts.Catalog.Resolve(run) ?? throw _parts.Context.RunNotFound(run);
        return _parts.Logs.ReadAsync(entry, options ?? TrainingLogOptions.Default, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<TrainingRunStatus> StopAsync(TrainingRun run, TrainingStopOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        EnsureRecovered();
        return _parts.Catalog.Resolve(run) is { } entry
            ? await _parts.Stopper.StopAsync(entry, options?.GracePeriod, cancellationToken).ConfigureAwait(false)
            : NotFound(run);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<TrainingRunStatus>> ListAsync(TrainingRunQuery? query = null, CancellationToken cancellationToken = default)
    {
        EnsureRecovered();
        _parts.Catalog.Scan();
        return Task.FromResult<IReadOnlyList<TrainingRunStatus>>(_parts.Catalog.List(query ?? TrainingRunQuery.All));
    }

    /// <summary>
    /// A job fits this host when it runs on one node (<see cref="TrainingJobConfig.Nodes"/> is 1) and requests no more
    /// GPUs than <c>Training:Subprocess:Gpus</c> lists.
    /// </summary>
    /// <param name="config">The job.</param>
    /// <returns>Whether it fits, and why not.</returns>
    public TrainingPlacement CheckPlacement(TrainingJobConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return _parts.Preflight.CheckPlacement(config);
    }

    /// <inheritdoc />
    public Task<TrainingRun?> FindAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        EnsureRecovered();
        return Task.FromResult(_parts.Catalog.Find(jobId)?.Handle);
    }

    /// <inheritdoc />
    public Task<ExecutorAvailability> CheckAvailabilityAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult(_parts.Preflight.CheckAvailability());

    /// <summary>
    /// Waits until the upload of a run's outputs to object storage is final (Uploaded, Failed or Skipped), which includes
    /// waiting for the run to end. Returns at once with the current state when this executor does not upload the run, and
    /// <see langword="null"/> when the run is not uploaded at all (no artifact storage, or uploads switched off). The same
    /// state is in <see cref="TrainingRunStatus.ArtifactUpload"/>. See docs/storage.md.
    /// </summary>
    /// <param name="run">The run.</param>
    /// <param name="cancellationToken">Stops waiting (the upload goes on).</param>
    /// <returns>The upload's state.</returns>
    public async Task<ArtifactUploadStatus?> WaitForArtifactUploadAsync(TrainingRun run, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        EnsureRecovered();
        var entry = _parts.Catalog.Resolve(run) ?? throw _parts.Context.RunNotFound(run);
        return _parts.Uploads is null ? entry.ToStatus().ArtifactUpload : await _parts.Uploads.WaitAsync(entry, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Stops watching runs. Running trainers are not stopped: they lead their own sessions, keep running and keep
    /// logging, and a new executor over the same runs directory reattaches to them. Queued runs stay queued on disk.
    /// Uploads in progress are cancelled and resumed by the next executor over the same runs directory.
    /// </summary>
    /// <returns>A task that completes when the background watcher and the uploads have ended.</returns>
    public async ValueTask DisposeAsync()
    {
        if (!BeginDispose())
        {
            return;
        }

        await _parts.Poller.StopAsync().ConfigureAwait(false);
        if (_parts.Uploads is not null)
        {
            await _parts.Uploads.DisposeAsync().ConfigureAwait(false);
        }

        EndDispose();
    }

    /// <summary>Same as <see cref="DisposeAsync"/>, for hosts that dispose synchronously; running trainers keep running.</summary>
    public void Dispose()
    {
        if (!BeginDispose())
        {
            return;
        }

        _parts.Poller.Stop();
        _parts.Uploads?.Dispose();
        EndDispose();
    }

    /// <summary>Finds earlier runs now (at host start-up) rather than at the first call; see <see cref="SubprocessRunRecovery"/>.</summary>
    internal void Recover() => EnsureRecovered();

    /// <summary>The first time any method runs: find earlier runs, reattach to live ones, requeue queued ones, remove expired ones.</summary>
    private void EnsureRecovered()
    {
        if (_parts.Catalog.EnsureRecovered())
        {
            _parts.Retention.Sweep();
        }
    }

    private static TrainingRunStatus NotFound(TrainingRun run) => new()
    {
        Run = run,
        Phase = TrainingPhase.NotFound,
        Reason = TrainingStatusReasons.NotFound,
        Message = "The subprocess executor has no such run.",
    };

    private bool BeginDispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return false;
        }

        _parts.Scheduler.Close();
        return true;
    }

    private void EndDispose()
    {
        // Another executor (for example after a restart) may index these runs now.
        foreach (var entry in _parts.Catalog.Where(e => e.Indexing))
        {
            _parts.Indexer.Stop(entry);
        }

        _parts.Context.Monitor.Dispose();
        _parts.Poller.Dispose();
        _parts.Context.Shared.Leave();
    }
}
