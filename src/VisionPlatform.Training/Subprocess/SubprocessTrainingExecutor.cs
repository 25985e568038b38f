using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VisionPlatform.Training.Storage;
using VisionPlatform.Training.Subprocess.Artifacts;
using VisionPlatform.Training.Subprocess.Logs;
using VisionPlatform.Training.Subprocess.Monitoring;
using VisionPlatform.Training.Subprocess.Native;
using VisionPlatform.Training.Subprocess.Runs;
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
/// See <c>docs/subprocess.md</c>.
/// </summary>
public sealed class SubprocessTrainingExecutor : ITrainingExecutor, ITrainingExecutorPlacement, IAsyncDisposable, IDisposable
{
    private const string OptionsKey = TrainingOptions.SectionName + ":Subprocess";
    private const int FailureLogLines = 10;

    private readonly SubprocessExecutorOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IProcessHost _host = ProcessHosts.Current;
    private readonly SubprocessLaunchPlanner _planner;
    private readonly string _runsDirectory;
    private readonly object _gate = new();
    private readonly Dictionary<string, RunEntry> _runs = new(StringComparer.Ordinal);
    private readonly List<RunEntry> _queue = [];
    private readonly HashSet<int> _gpusInUse = [];
    private readonly CancellationTokenSource _disposing = new();
    private readonly Task _monitor;
    private readonly RunArtifactUploader? _uploads;
    private readonly SubprocessRunMonitor _runMonitor;
    private int _active;
    private int _recovered;
    private bool _disposed;

    // One log indexer per run per OS process, however many executor instances share a runs directory.
    private static readonly HashSet<string> IndexedRuns = new(StringComparer.Ordinal);

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
        _options = root.Subprocess;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _planner = new SubprocessLaunchPlanner(root, contract, artifactStore);
        _runsDirectory = Path.GetFullPath(string.IsNullOrWhiteSpace(_options.RunsDirectory)
            ? Path.Combine(Path.GetTempPath(), "vp-training-runs")
            : _options.RunsDirectory);
        _uploads = artifactStore is not null && _options.UploadArtifacts ? new RunArtifactUploader(artifactStore, _options, _time, _logger, events) : null;
        _runMonitor = new SubprocessRunMonitor(events, cost ?? TrainingCostCalculator.Unpriced, _time, _options.PollInterval, _logger);
        _monitor = Task.Run(MonitorAsync);
    }

    /// <inheritdoc />
    public string Name => TrainingExecutorNames.Subprocess;

    /// <summary>The absolute directory holding one directory per run.</summary>
    public string RunsDirectory => _runsDirectory;

    /// <summary>How many runs' logs are followed now because a subscriber wants their progress or log lines.</summary>
    internal int FollowedRuns => _runMonitor.FollowedRuns;

    /// <summary>
    /// What would run for a job, without side effects: the program, the argument list and the environment names
    /// (values only for non-secret settings). GPUs shown are those that would be handed out if it started now.
    /// </summary>
    /// <param name="config">The job.</param>
    /// <returns>The plan.</returns>
    public SubprocessLaunchPlan CreateLaunchPlan(TrainingJobConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var paths = RunPaths.ForJob(_runsDirectory, config.JobId);
        int[] gpus;
        lock (_gate)
        {
            var free = _options.Gpus.Where(g => !_gpusInUse.Contains(g)).Take(config.Resources.Gpus).ToArray();
            gpus = free.Length == config.Resources.Gpus ? free : _options.Gpus.Take(config.Resources.Gpus).ToArray();
        }

        var (spec, display) = _planner.Build(config, paths, gpus);
        return new SubprocessLaunchPlan(spec.FileName, spec.Arguments, spec.WorkingDirectory, spec.LogPath, display);
    }

    /// <inheritdoc />
    public async Task<TrainingRun> StartAsync(TrainingJobConfig config, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        ObjectDisposedException.ThrowIf(_disposed, this);
        Validate(config);
        if (_planner.CheckLaunchable(config.Framework) is { } problem)
        {
            throw new TrainingException(TrainingErrorCode.ExecutorUnavailable, problem) { ExecutorName = Name, JobId = config.JobId };
        }

        EnsureRecovered();
        var paths = RunPaths.ForJob(_runsDirectory, config.JobId);
        RunEntry entry;
        using (await KeyedLock.AcquireAsync(paths.Directory, cancellationToken).ConfigureAwait(false))
        {
            if (Adopt(paths) is { } existing)
            {
                return SameJobOrConflict(existing, config);
            }

            Directory.CreateDirectory(paths.Directory);
            var now = _time.GetUtcNow();
            var state = new RunStateDocument
            {
                JobId = config.JobId,
                Executor = Name,
                ConfigHash = config.ConfigHash,
                Config = ConfigDocument.From(config),
                Phase = TrainingPhase.Pending,
                Reason = TrainingStatusReasons.WaitingForSlot,
                Message = "Queued.",
                CreatedAt = now,
                ArtifactUpload = _uploads is null ? null : RunArtifactUploader.Initial,
            };
            if (!RunStore.TryCreate(paths, state))
            {
                // Another process created it between our look and our write.
                return Adopt(paths) is { } raced
                    ? SameJobOrConflict(raced, config)
                    : throw new TrainingException(TrainingErrorCode.ExecutorFailure, $"The run directory '{paths.Directory}' of job '{config.JobId}' exists but its state cannot be read.") { ExecutorName = Name, JobId = config.JobId };
            }

            entry = new RunEntry(paths, state, new TrainingRun(Name, config.JobId, paths.Name), _runMonitor) { Config = config };
            lock (_gate)
            {
                if (_runs.TryGetValue(paths.Name, out var adopted))
                {
                    // A concurrent ListAsync found the new state.json first and has already queued it.
                    entry = adopted;
                }
                else
                {
                    _runs[paths.Name] = entry;
                    _queue.Add(entry);
                }
            }

            entry.Announce();
        }

        _uploads?.Track(entry);
        SubprocessLog.RunQueued(_logger, config.JobId, TrainingStatusReasons.WaitingForSlot);
        Pump();
        return entry.Handle;
    }

    /// <inheritdoc />
    public Task<TrainingRunStatus> GetStatusAsync(TrainingRun run, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        EnsureRecovered();
        return Task.FromResult(Resolve(run)?.ToStatus() ?? NotFound(run));
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<TrainingRunStatus> WatchAsync(TrainingRun run, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        EnsureRecovered();
        var entry = Resolve(run);
        if (entry is null)
        {
            yield return NotFound(run);
            yield break;
        }

        TrainingRunStatus? last = null;
        while (true)
        {
            var changed = entry.Changed;
            var status = entry.ToStatus();
            if (StatusChange.IsNews(last, status))
            {
                yield return status;
                last = status;
            }

            if (status.IsTerminal)
            {
                yield break;
            }

            // Every state change (exit reaped, /proc poll, stop, launch) completes Changed at once; the delay picks up
            // new progress lines, read from the log's tail only when it grew.
            await WaitAnyAsync(changed, TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<TrainingLogLine> GetLogsAsync(
        TrainingRun run,
        TrainingLogOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        options ??= TrainingLogOptions.Default;
        EnsureRecovered();
        var entry = Resolve(run) ?? throw new TrainingException(TrainingErrorCode.RunNotFound, $"The subprocess executor has no run '{run.ResourceId}' for job '{run.JobId}' in '{_runsDirectory}'.") { ExecutorName = Name, JobId = run.JobId };

        // A queued run has no log yet: following waits for it, a plain read returns nothing.
        while (!File.Exists(entry.Paths.LogFile))
        {
            if (!options.Follow || entry.IsTerminal)
            {
                yield break;
            }

            await WaitAnyAsync(entry.Changed, _options.PollInterval, cancellationToken).ConfigureAwait(false);
        }

        var withTime = options.Timestamps || options.Since is not null;
        using var reader = OpenReader(entry.Paths, options);
        using var index = withTime ? new LogIndex.Cursor(entry.Paths.IndexFile) : null;
        while (true)
        {
            // Look at the run before reading: if it had ended then, everything it wrote is in the file now.
            var ended = entry.IsTerminal;
            while (reader.TryReadLine(final: ended || !options.Follow, out var offset, out var text))
            {
                DateTimeOffset? timestamp = null;
                if (index is not null)
                {
                    timestamp = index.TimeOf(offset) ?? LastWriteTime(entry.Paths.LogFile);
                    if (options.Since is { } since && timestamp < since)
                    {
                        continue;
                    }
                }

                yield return new TrainingLogLine(text, options.Timestamps ? timestamp : null);
            }

            if (!options.Follow || ended)
            {
                yield break;
            }

            await WaitAnyAsync(entry.Terminal, _options.PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<TrainingRunStatus> StopAsync(TrainingRun run, TrainingStopOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        EnsureRecovered();
        var entry = Resolve(run);
        if (entry is null)
        {
            return NotFound(run);
        }

        var grace = options?.GracePeriod ?? _options.StopGracePeriod;
        if (grace < TimeSpan.Zero)
        {
            throw new TrainingValidationException([new("GracePeriod", grace.ToString("c", CultureInfo.InvariantCulture), "must not be negative")]);
        }

        ProcessIdentity? identity;
        using (await KeyedLock.AcquireAsync(entry.Paths.Directory, cancellationToken).ConfigureAwait(false))
        {
            if (entry.IsTerminal)
            {
                return entry.ToStatus();
            }

            var now = _time.GetUtcNow();
            var wasPending = false;
            entry.Update(s =>
            {
                s.StopRequested = true;
                if (s.Phase == TrainingPhase.Pending)
                {
                    wasPending = true;
                    s.Phase = TrainingPhase.Stopped;
                    s.Reason = TrainingStatusReasons.StoppedByUser;
                    s.Message = "Stopped while queued; the trainer never started.";
                    s.FinishedAt = now;
                }

                return true;
            });
            if (wasPending)
            {
                lock (_gate)
                {
                    _queue.Remove(entry);
                }

                SubprocessLog.RunStopped(_logger, run.JobId, TrainingStatusReasons.StoppedByUser);
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

    /// <inheritdoc />
    public Task<IReadOnlyList<TrainingRunStatus>> ListAsync(TrainingRunQuery? query = null, CancellationToken cancellationToken = default)
    {
        query ??= TrainingRunQuery.All;
        EnsureRecovered();
        ScanRunsDirectory();
        List<RunEntry> entries;
        lock (_gate)
        {
            entries = [.. _runs.Values];
        }

        var result = new List<TrainingRunStatus>();
        foreach (var entry in entries)
        {
            RunStateDocument state;
            lock (entry.Sync)
            {
                state = entry.State;
            }

            if ((query.ProjectId is null || state.Config.ProjectId == query.ProjectId) &&
                (query.Phases is null || query.Phases.Contains(state.Phase)) &&
                (query.Labels is null || query.Labels.All(l => state.Config.Labels.TryGetValue(l.Key, out var v) && v == l.Value)))
            {
                result.Add(entry.ToStatus());
            }
        }

        result.Sort((a, b) => Nullable.Compare(a.CreatedAt, b.CreatedAt));
        return Task.FromResult<IReadOnlyList<TrainingRunStatus>>(result);
    }

    /// <summary>A job fits this host when it requests no more GPUs than <c>Training:Subprocess:Gpus</c> lists.</summary>
    /// <param name="config">The job.</param>
    /// <returns>Whether it fits, and why not.</returns>
    public TrainingPlacement CheckPlacement(TrainingJobConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var hostGpus = _options.Gpus.Count;
        return config.Resources.Gpus <= hostGpus
            ? TrainingPlacement.Fit
            : TrainingPlacement.DoesNotFit(
                $"the job requests {config.Resources.Gpus} GPU(s) but this host hands out {hostGpus} ({OptionsKey}:Gpus)");
    }

    /// <inheritdoc />
    public Task<TrainingRun?> FindAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        EnsureRecovered();
        var entry = Adopt(RunPaths.ForJob(_runsDirectory, jobId));
        return Task.FromResult(entry is not null && entry.Handle.JobId == jobId ? entry.Handle : null);
    }

    /// <inheritdoc />
    public Task<ExecutorAvailability> CheckAvailabilityAsync(CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        try
        {
            Directory.CreateDirectory(_runsDirectory);
            var probe = Path.Combine(_runsDirectory, $".probe.{Guid.NewGuid():N}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Task.FromResult(ExecutorAvailability.Unavailable(
                $"The runs directory '{_runsDirectory}' is not writable ({e.Message}): fix {OptionsKey}:RunsDirectory or its permissions.", now));
        }

        var frameworks = _options.Frameworks.Keys.Select(k => new TrainingFramework(k)).Prepend(new TrainingFramework(string.Empty));
        foreach (var framework in frameworks)
        {
            var (interpreter, key) = _planner.InterpreterFor(framework);
            if (_planner.ResolveInterpreter(interpreter) is null)
            {
                return Task.FromResult(ExecutorAvailability.Unavailable(
                    $"The interpreter '{interpreter}' cannot be found (not an existing file, nor a program in PATH): fix {key}.", now));
            }
        }

        return Task.FromResult(ExecutorAvailability.Available(now));
    }

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
        var entry = Resolve(run) ?? throw new TrainingException(TrainingErrorCode.RunNotFound, $"The subprocess executor has no run '{run.ResourceId}' for job '{run.JobId}' in '{_runsDirectory}'.") { ExecutorName = Name, JobId = run.JobId };
        return _uploads is null ? entry.ToStatus().ArtifactUpload : await _uploads.WaitAsync(entry, cancellationToken).ConfigureAwait(false);
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

        await _disposing.CancelAsync().ConfigureAwait(false);
        try
        {
            await _monitor.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        if (_uploads is not null)
        {
            await _uploads.DisposeAsync().ConfigureAwait(false);
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

        _disposing.Cancel();
        try
        {
            // The watcher only waits on timers, so it ends at once after cancellation.
            _monitor.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException e) when (e.InnerExceptions.All(x => x is OperationCanceledException))
        {
        }

        _uploads?.Dispose();
        EndDispose();
    }

    private bool BeginDispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return false;
            }

            _disposed = true;
            return true;
        }
    }

    private void EndDispose()
    {
        RunEntry[] indexed;
        lock (_gate)
        {
            indexed = _runs.Values.Where(e => e.Indexing).ToArray();
        }

        // Another executor (for example after a restart) may index these runs now.
        foreach (var entry in indexed)
        {
            StopIndexing(entry);
        }

        _runMonitor.Dispose();

        _disposing.Dispose();
    }

    private void Validate(TrainingJobConfig config)
    {
        var errors = new List<TrainingValidationError>();
        var hostGpus = _options.Gpus.Count;
        if (config.Resources.Gpus > hostGpus)
        {
            errors.Add(new(
                "Resources.Gpus",
                config.Resources.Gpus.ToString(CultureInfo.InvariantCulture),
                $"must be at most {hostGpus}: this host hands out {hostGpus} GPU(s), configured in {OptionsKey}:Gpus"));
        }

        if (errors.Count > 0)
        {
            throw new TrainingValidationException(errors);
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
                $"Job '{config.JobId}' already exists on the subprocess executor with a different configuration (run directory '{existing.Paths.Directory}'). Use a new job id, or stop and remove the existing run.")
            {
                ExecutorName = Name,
                JobId = config.JobId,
            };
    }

    private RunEntry? Resolve(TrainingRun run)
    {
        if (!string.Equals(run.ExecutorName, Name, StringComparison.OrdinalIgnoreCase) ||
            RunPaths.ForName(_runsDirectory, run.ResourceId) is not { } paths)
        {
            return null;
        }

        var entry = Adopt(paths);
        return entry is not null && entry.Handle.JobId == run.JobId ? entry : null;
    }

    private static TrainingRunStatus NotFound(TrainingRun run) => new()
    {
        Run = run,
        Phase = TrainingPhase.NotFound,
        Reason = TrainingStatusReasons.NotFound,
        Message = "The subprocess executor has no such run.",
    };

    /// <summary>Finds earlier runs now (at host start-up) rather than at the first call; see <see cref="SubprocessRunRecovery"/>.</summary>
    internal void Recover() => EnsureRecovered();

    /// <summary>The first time any method runs: find earlier runs, reattach to live ones, requeue queued ones.</summary>
    private void EnsureRecovered()
    {
        if (Interlocked.Exchange(ref _recovered, 1) == 0)
        {
            ScanRunsDirectory();
        }
    }

    private void ScanRunsDirectory()
    {
        if (!Directory.Exists(_runsDirectory))
        {
            return;
        }

        foreach (var dir in Directory.EnumerateDirectories(_runsDirectory))
        {
            if (RunPaths.ForName(_runsDirectory, Path.GetFileName(dir)) is { } paths)
            {
                Adopt(paths);
            }
        }
    }

    /// <summary>Returns the entry of a run, loading it from disk (and reattaching to its process) the first time.</summary>
    private RunEntry? Adopt(RunPaths paths)
    {
        lock (_gate)
        {
            if (_runs.TryGetValue(paths.Name, out var known))
            {
                return known;
            }
        }

        var state = RunStore.TryLoad(paths);
        if (state is null || state.Executor != Name)
        {
            return null;
        }

        var entry = new RunEntry(paths, state, new TrainingRun(Name, state.JobId, paths.Name), _runMonitor);
        lock (_gate)
        {
            if (_runs.TryGetValue(paths.Name, out var raced))
            {
                return raced;
            }

            _runs[paths.Name] = entry;
        }

        entry.CompleteIfTerminal();
        _uploads?.Track(entry);
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

        return entry;
    }

    private void Requeue(RunEntry entry, RunStateDocument state)
    {
        try
        {
            entry.Config = state.Config.ToConfig();
        }
        catch (TrainingValidationException e)
        {
            var now = _time.GetUtcNow();
            entry.Update(s =>
            {
                s.Phase = TrainingPhase.Failed;
                s.Reason = TrainingStatusReasons.LaunchFailed;
                s.Message = "The queued job in state.json is no longer valid: " + e.Message;
                s.FinishedAt = now;
                return true;
            });
            return;
        }

        lock (_gate)
        {
            _queue.Add(entry);
        }

        Pump();
    }

    private void Reattach(RunEntry entry, RunStateDocument state)
    {
        if (state.Pid is not { } pid || state.ProcessStartTicks is not { } ticks)
        {
            MarkLost(entry, null);
            return;
        }

        var identity = new ProcessIdentity(pid, ticks, state.BootId);
        var exit = _host.TryGetExit(identity);
        if (exit is null && _host.Probe(identity) != ProcessLiveness.Alive)
        {
            // Ended while no host watched it. Kill whatever it left behind; its exit code is unknowable.
            _host.SignalTree(identity, kill: true);
            MarkLost(entry, pid);
            return;
        }

        entry.Identity = identity;
        entry.PollLiveness = exit is null;
        lock (_gate)
        {
            entry.HoldsSlot = true;
            _active++;
            foreach (var gpu in state.Gpus)
            {
                _gpusInUse.Add(gpu);
            }
        }

        StartIndexing(entry, fromExistingIndex: true);
        SubprocessLog.RunReattached(_logger, state.JobId, pid);
        if (exit is not null)
        {
            _ = ObserveExitAsync(entry, identity, exit);
        }
    }

    private void MarkLost(RunEntry entry, int? pid)
    {
        var now = _time.GetUtcNow();
        var stopped = false;
        entry.Update(s =>
        {
            if (s.Phase is not (TrainingPhase.Running or TrainingPhase.Pending))
            {
                return false;
            }

            stopped = s.StopRequested;
            s.Phase = stopped ? TrainingPhase.Stopped : TrainingPhase.Lost;
            s.Reason = stopped ? TrainingStatusReasons.StoppedByUser : TrainingStatusReasons.ExitNotObserved;
            s.Message = stopped
                ? "Stopped; the trainer ended while no host observed it, so its exit code is unknown."
                : "The trainer process ended while no host observed it (for example the host restarted), so its exit code is unknown.";
            s.FinishedAt = now;
            return true;
        });
        if (!stopped)
        {
            SubprocessLog.RunLost(_logger, entry.Handle.JobId, pid);
        }
    }

    /// <summary>Starts queued runs while there are free slots and GPUs (first come, first served per resource).</summary>
    private void Pump()
    {
        var launches = new List<(RunEntry Entry, int[] Gpus)>();
        var waiting = new List<(RunEntry Entry, string Reason)>();
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            foreach (var entry in _queue.ToArray())
            {
                var need = entry.Config!.Resources.Gpus;
                if (_active >= _options.MaxConcurrentRuns)
                {
                    waiting.Add((entry, TrainingStatusReasons.WaitingForSlot));
                    continue;
                }

                var free = _options.Gpus.Where(g => !_gpusInUse.Contains(g)).Take(need).ToArray();
                if (free.Length < need)
                {
                    waiting.Add((entry, TrainingStatusReasons.WaitingForGpu));
                    continue;
                }

                _queue.Remove(entry);
                _active++;
                entry.HoldsSlot = true;
                _gpusInUse.UnionWith(free);
                launches.Add((entry, free));
            }
        }

        foreach (var (entry, reason) in waiting)
        {
            entry.Update(s =>
            {
                if (s.Phase != TrainingPhase.Pending || s.Reason == reason)
                {
                    return false;
                }

                s.Reason = reason;
                s.Message = reason == TrainingStatusReasons.WaitingForSlot
                    ? $"Waiting for a free slot ({OptionsKey}:MaxConcurrentRuns is {_options.MaxConcurrentRuns})."
                    : $"Waiting for {entry.Config!.Resources.Gpus} free GPU(s) of {_options.Gpus.Count}.";
                return true;
            });
        }

        foreach (var (entry, gpus) in launches)
        {
            _ = Task.Run(() => LaunchAsync(entry, gpus));
        }
    }

    private async Task LaunchAsync(RunEntry entry, int[] gpus)
    {
        var jobId = entry.Handle.JobId;
        try
        {
            using (await KeyedLock.AcquireAsync(entry.Paths.Directory, CancellationToken.None).ConfigureAwait(false))
            {
                // Another executor instance may have launched it, or a stop may have cancelled it meanwhile.
                if (RunStore.TryLoad(entry.Paths) is { } onDisk && onDisk.Phase != TrainingPhase.Pending)
                {
                    entry.Replace(onDisk);
                    Release(entry);
                    if (onDisk.Phase == TrainingPhase.Running)
                    {
                        ReattachKnown(entry, onDisk);
                    }

                    return;
                }

                if (entry.IsTerminal || _disposed)
                {
                    // Stopped while queued, or this executor is going away: a queued run stays queued on disk.
                    Release(entry);
                    return;
                }

                Directory.CreateDirectory(entry.Paths.OutputDirectory);
                var (spec, _) = _planner.Build(entry.Config!, entry.Paths, gpus);
                var identity = _host.Launch(spec);
                var now = _time.GetUtcNow();
                entry.Identity = identity;
                entry.Update(s =>
                {
                    s.Phase = TrainingPhase.Running;
                    s.Reason = TrainingStatusReasons.Running;
                    s.Message = null;
                    s.StartedAt = now;
                    s.Pid = identity.Pid;
                    s.ProcessStartTicks = identity.StartTicks;
                    s.BootId = identity.BootId;
                    s.Gpus = gpus;
                    return true;
                });
                StartIndexing(entry, fromExistingIndex: false);
                SubprocessLog.RunStarted(_logger, jobId, identity.Pid, string.Join(',', gpus), entry.Paths.Directory);
                _ = ObserveExitAsync(entry, identity, _host.TryGetExit(identity)!);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            SubprocessLog.LaunchFailed(_logger, jobId, e);
            var now = _time.GetUtcNow();
            try
            {
                entry.Update(s =>
                {
                    s.Phase = TrainingPhase.Failed;
                    s.Reason = TrainingStatusReasons.LaunchFailed;
                    s.Message = $"The trainer could not be launched: {e.Message}";
                    s.FinishedAt = now;
                    return true;
                });
            }
            catch (IOException)
            {
                // The run directory is gone; nothing more to record.
            }

            Release(entry);
        }
    }

    /// <summary>Another executor instance of this process launched the run first: follow its process.</summary>
    private void ReattachKnown(RunEntry entry, RunStateDocument state)
    {
        if (state.Pid is { } pid && state.ProcessStartTicks is { } ticks)
        {
            var identity = new ProcessIdentity(pid, ticks, state.BootId);
            entry.Identity = identity;
            if (_host.TryGetExit(identity) is { } exit)
            {
                _ = ObserveExitAsync(entry, identity, exit, holdsSlot: false);
            }
            else
            {
                entry.PollLiveness = true;
            }
        }
    }

    private async Task ObserveExitAsync(RunEntry entry, ProcessIdentity identity, Task<ChildExit> exitTask, bool holdsSlot = true)
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

        try
        {
            RecordExit(entry, identity, exit);
        }
        catch (IOException e)
        {
            // The run directory was removed under us; there is nothing left to record into.
            SubprocessLog.MonitorFailed(_logger, e);
        }

        if (holdsSlot)
        {
            Release(entry);
        }
    }

    private void RecordExit(RunEntry entry, ProcessIdentity identity, ChildExit exit)
    {
        UpdateIndex(entry);
        StopIndexing(entry);
        var now = _time.GetUtcNow();
        var tail = exit.ExitCode == 0 ? null : ReadLastLines(entry.Paths.LogFile, FailureLogLines);
        entry.Update(s =>
        {
            if (s.Phase != TrainingPhase.Running)
            {
                return false;
            }

            var (phase, reason, message) = ExitStatus.Describe(exit, s.StopRequested, tail);
            s.Phase = phase;
            s.Reason = reason;
            s.Message = message;
            s.ExitCode = exit.ExitCode is null && exit.Signal is null ? null : exit.CombinedCode;
            s.Signal = exit.Signal;
            s.FinishedAt = now;
            return true;
        });

        var status = entry.ToStatus();
        SubprocessLog.RunExited(_logger, entry.Handle.JobId, identity.Pid, status.Phase, status.Reason, status.ExitCode);
    }

    private void Release(RunEntry entry)
    {
        lock (_gate)
        {
            if (!entry.HoldsSlot)
            {
                return;
            }

            entry.HoldsSlot = false;
            _active--;
            RunStateDocument state;
            lock (entry.Sync)
            {
                state = entry.State;
            }

            _gpusInUse.ExceptWith(state.Gpus);
        }

        Pump();
    }

    private async Task TerminateAsync(RunEntry entry, ProcessIdentity identity, TimeSpan grace)
    {
        SubprocessLog.RunStopping(_logger, entry.Handle.JobId, identity.Pid, grace);
        _host.SignalTree(identity, kill: false);
        if (!await WaitTerminalAsync(entry, grace).ConfigureAwait(false))
        {
            SubprocessLog.RunKilled(_logger, entry.Handle.JobId, grace);
            _host.SignalTree(identity, kill: true);
        }

        // SIGKILL cannot be refused; the reaper (or the /proc poll) records the end promptly.
        while (!await WaitTerminalAsync(entry, TimeSpan.FromSeconds(5)).ConfigureAwait(false))
        {
            _host.SignalTree(identity, kill: true);
        }

        SubprocessLog.RunStopped(_logger, entry.Handle.JobId, entry.ToStatus().Reason);
    }

    private async Task<bool> WaitTerminalAsync(RunEntry entry, TimeSpan timeout)
    {
        if (entry.Terminal.IsCompleted)
        {
            return true;
        }

        using var delay = new CancellationTokenSource();
        var timer = Task.Delay(timeout, _time, delay.Token);
        var first = await Task.WhenAny(entry.Terminal, timer).ConfigureAwait(false);
        await delay.CancelAsync().ConfigureAwait(false);
        return first == entry.Terminal;
    }

    private async Task WaitAnyAsync(Task signal, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var timer = Task.Delay(timeout, _time, linked.Token);
        await Task.WhenAny(signal, timer).ConfigureAwait(false);
        await linked.CancelAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
    }

    private static LogLineReader OpenReader(RunPaths paths, TrainingLogOptions options)
    {
        long start = 0;
        using (var stream = new FileStream(paths.LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            var end = stream.Length;
            if (options.TailLines is { } lines)
            {
                start = LogTail.FindStart(stream, end, Math.Max(0, lines));
            }

            if (options.Since is { } since)
            {
                var sinceOffset = Math.Min(LogIndex.FindOffsetSince(paths.IndexFile, since), end);
                if (sinceOffset > start)
                {
                    start = LineStartAtOrAfter(stream, sinceOffset);
                }
            }
        }

        return new LogLineReader(paths.LogFile, start);
    }

    /// <summary>The first line start at or after an offset (a line that began earlier was observed earlier).</summary>
    private static long LineStartAtOrAfter(FileStream stream, long offset)
    {
        if (offset == 0)
        {
            return 0;
        }

        stream.Position = offset - 1;
        var buffer = new byte[64 * 1024];
        var position = offset - 1;
        int read;
        while ((read = stream.Read(buffer)) > 0)
        {
            var newline = buffer.AsSpan(0, read).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                return position + newline + 1;
            }

            position += read;
        }

        return position;
    }

    private static DateTimeOffset LastWriteTime(string path) => new(File.GetLastWriteTimeUtc(path), TimeSpan.Zero);

    private static string? ReadLastLines(string path, int count)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var start = LogTail.FindStart(stream, stream.Length, count);
            using var reader = new LogLineReader(path, start);
            var lines = new List<string>(count);
            while (reader.TryReadLine(final: true, out _, out var line))
            {
                lines.Add(line.Length > 500 ? line[..500] + "..." : line);
            }

            return lines.Count == 0 ? null : string.Join('\n', lines);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static void StartIndexing(RunEntry entry, bool fromExistingIndex)
    {
        lock (IndexedRuns)
        {
            if (!IndexedRuns.Add(entry.Paths.Directory))
            {
                return;
            }
        }

        entry.IndexedSize = fromExistingIndex ? LogIndex.LastIndexedSize(entry.Paths.IndexFile) : 0;
        entry.Indexing = true;
    }

    private static void StopIndexing(RunEntry entry)
    {
        if (!entry.Indexing)
        {
            return;
        }

        entry.Indexing = false;
        lock (IndexedRuns)
        {
            IndexedRuns.Remove(entry.Paths.Directory);
        }
    }

    private void UpdateIndex(RunEntry entry)
    {
        if (!entry.Indexing)
        {
            return;
        }

        lock (entry)
        {
            try
            {
                var size = new FileInfo(entry.Paths.LogFile) is { Exists: true } info ? info.Length : 0;
                if (size > entry.IndexedSize)
                {
                    LogIndex.Append(entry.Paths.IndexFile, size, _time.GetUtcNow());
                    entry.IndexedSize = size;
                }
            }
            catch (IOException)
            {
                // The run directory was removed; the next poll tries again.
            }
        }
    }

    /// <summary>Every poll interval: index new log bytes of live runs, and notice the end of processes we do not reap.</summary>
    private async Task MonitorAsync()
    {
        var token = _disposing.Token;
        while (!token.IsCancellationRequested)
        {
            await Task.Delay(_options.PollInterval, _time, token).ConfigureAwait(false);
            try
            {
                RunEntry[] live;
                lock (_gate)
                {
                    live = _runs.Values.Where(e => e.Indexing || e.PollLiveness).ToArray();
                }

                foreach (var entry in live)
                {
                    UpdateIndex(entry);
                    if (entry.PollLiveness && entry.Identity is { } identity && !entry.IsTerminal &&
                        _host.Probe(identity) != ProcessLiveness.Alive)
                    {
                        entry.PollLiveness = false;
                        _host.SignalTree(identity, kill: true);
                        StopIndexing(entry);
                        MarkLost(entry, identity.Pid);
                        Release(entry);
                    }
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // One bad run directory must not end the watching of every other run.
                SubprocessLog.MonitorFailed(_logger, e);
            }
        }
    }
}
