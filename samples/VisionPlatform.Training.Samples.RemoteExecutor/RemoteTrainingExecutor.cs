using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VisionPlatform.Training.Diagnostics;

namespace VisionPlatform.Training.Samples.RemoteExecutor;

/// <summary>
/// Runs training jobs on a remote training service over HTTP/JSON (see <see cref="RemoteJobRequest"/> for the service's
/// API). A third-party executor built only on the SDK's public executor-author API:
/// <list type="bullet">
/// <item><description><see cref="ITrainingExecutor"/> and <see cref="ITrainingExecutorPlacement"/>: the contract routing calls;</description></item>
/// <item><description><see cref="ITrainingEventPublisher"/>: phase, progress and log events, published by one background monitor in the order they happened;</description></item>
/// <item><description><see cref="TrainingProgressProtocol"/>: the trainer's <c>VP_PROGRESS</c> lines become <see cref="TrainingProgress"/>;</description></item>
/// <item><description><see cref="TrainingCostCalculator"/>: every terminal status that ran carries its <see cref="TrainingCost"/>;</description></item>
/// <item><description><see cref="TrainingMetrics"/>: each HTTP attempt is counted under the executor's name;</description></item>
/// <item><description><see cref="TrainingException"/> codes: <see cref="TrainingErrorCode.ExecutorUnavailable"/> when the service cannot be reached, <see cref="TrainingErrorCode.OutcomeUnknown"/> when a create was sent and never answered.</description></item>
/// </list>
/// Job ids follow the SDK's one rule: the service keeps one record per job id; a start with the same id and config hash
/// returns that run in whatever phase it is (a stopped run stays stopped), another config is
/// <see cref="TrainingErrorCode.JobConflict"/>, and once the service's retention removed the record the id starts a new run.
/// </summary>
public sealed class RemoteTrainingExecutor : ITrainingExecutor, ITrainingExecutorPlacement, IAsyncDisposable, IDisposable
{
    private const int ProgressScanLines = 200;

    private readonly RemoteExecutorOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TrainingCostCalculator _cost;
    private readonly RemoteTrainingApi _api;
    private readonly RemoteRunMonitor _monitor;
    private readonly ConcurrentDictionary<string, TrainingProgress> _progress = new(StringComparer.Ordinal);

    /// <summary>Creates the executor.</summary>
    /// <param name="name">The name it is registered under (recorded in every run handle and metric).</param>
    /// <param name="options">The service URL and timeouts; the executor keeps the reference.</param>
    /// <param name="timeProvider">The clock for deadlines, polling and timestamps; <see langword="null"/> for the system clock.</param>
    /// <param name="logger">Logging; <see langword="null"/> for none.</param>
    /// <param name="events">The host's event publisher; <see langword="null"/> publishes nothing (statuses still carry progress and cost).</param>
    /// <param name="costCalculator">The host's price table; <see langword="null"/> for <see cref="TrainingCostCalculator.Unpriced"/>.</param>
    /// <param name="metrics">The host's SDK metrics; <see langword="null"/> records nothing.</param>
    /// <param name="handler">The HTTP handler (for example with a proxy or client certificate); <see langword="null"/> for a pooled <see cref="SocketsHttpHandler"/>. The executor disposes it.</param>
    public RemoteTrainingExecutor(
        string name,
        RemoteExecutorOptions options,
        TimeProvider? timeProvider = null,
        ILogger<RemoteTrainingExecutor>? logger = null,
        ITrainingEventPublisher? events = null,
        TrainingCostCalculator? costCalculator = null,
        TrainingMetrics? metrics = null,
        HttpMessageHandler? handler = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(options);
        Name = name;
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _cost = costCalculator ?? TrainingCostCalculator.Unpriced;
        _api = new RemoteTrainingApi(name, options, _time, metrics, handler);
        _monitor = new RemoteRunMonitor(this, _api, events, _time, options.PollInterval, _logger);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>A job fits when it asks for at most <see cref="RemoteExecutorOptions.MaxGpusPerJob"/> GPUs.</summary>
    /// <param name="config">The job.</param>
    /// <returns>Whether it fits, and why not.</returns>
    public TrainingPlacement CheckPlacement(TrainingJobConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.Resources.Gpus <= _options.MaxGpusPerJob
            ? TrainingPlacement.Fit
            : TrainingPlacement.DoesNotFit($"the job requests {config.Resources.Gpus} GPU(s) but the training service takes at most {_options.MaxGpusPerJob} per job (MaxGpusPerJob)");
    }

    /// <inheritdoc />
    /// <exception cref="TrainingException">
    /// <see cref="TrainingValidationException"/> (<c>Resources.Gpus</c>) for a job asking for more GPUs than the service takes; <see cref="TrainingErrorCode.JobConflict"/>
    /// for a job id the service has with another config; <see cref="TrainingErrorCode.ExecutorUnavailable"/> when the service
    /// cannot be reached; <see cref="TrainingErrorCode.OutcomeUnknown"/> when the create was sent and never answered.
    /// </exception>
    public async Task<TrainingRun> StartAsync(TrainingJobConfig config, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Resources.Gpus > _options.MaxGpusPerJob)
        {
            // A job this service can never run: refused before anything is sent, naming the field (as the built-in executors do).
            throw new TrainingValidationException([new TrainingValidationError(
                "Resources.Gpus",
                config.Resources.Gpus.ToString(System.Globalization.CultureInfo.InvariantCulture),
                $"must be at most {_options.MaxGpusPerJob}: the training service of executor '{Name}' takes at most {_options.MaxGpusPerJob} GPU(s) per job (MaxGpusPerJob)")]);
        }

        _monitor.EnsureStarted();
        using var starting = _monitor.BeginStart(config.JobId);
        var (record, created, conflict) = await _api.CreateAsync(ToRequest(config), cancellationToken).ConfigureAwait(false);
        if (conflict || record is null || !string.Equals(record.ConfigHash, config.ConfigHash, StringComparison.Ordinal))
        {
            throw new TrainingException(
                TrainingErrorCode.JobConflict,
                $"Job '{config.JobId}' already exists on training executor '{Name}' with a different configuration: a job id can only be started with one configuration while the service keeps its record; use a new job id.")
            {
                ExecutorName = Name,
                JobId = config.JobId,
            };
        }

        var run = Handle(record);
        RemoteExecutorLog.Started(_logger, Name, config.JobId, record.RunId, record.State);
        await _monitor.ObserveAsync(record, startedHere: created, cancellationToken).ConfigureAwait(false);
        return run;
    }

    /// <inheritdoc />
    public async Task<TrainingRunStatus> GetStatusAsync(TrainingRun run, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (!IsMine(run))
        {
            return NotFound(run);
        }

        _monitor.EnsureStarted();
        var record = await _api.GetAsync(run.JobId, cancellationToken).ConfigureAwait(false);
        if (record is null || !string.Equals(record.RunId, run.ResourceId, StringComparison.Ordinal))
        {
            return NotFound(run);
        }

        var status = ToStatus(record);
        if (status.Progress is null && status.Phase is TrainingPhase.Running or TrainingPhase.Succeeded)
        {
            // Not followed (nobody subscribed): the latest progress line from the log's tail.
            var tail = await _api.GetLogsAsync(run.JobId, from: null, tail: ProgressScanLines, cancellationToken).ConfigureAwait(false);
            if (tail is not null && LatestProgress(tail.Lines) is { } progress)
            {
                status = status with { Progress = progress.WithEstimate(status.StartedAt, _time.GetUtcNow()) };
            }
        }

        return status;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<TrainingRunStatus> WatchAsync(TrainingRun run, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        TrainingRunStatus? last = null;
        while (true)
        {
            var status = await GetStatusAsync(run, cancellationToken).ConfigureAwait(false);
            if (last is null || last.Phase != status.Phase || last.Reason != status.Reason || last.ExitCode != status.ExitCode || last.Progress?.Epoch != status.Progress?.Epoch)
            {
                last = status;
                yield return status;
            }

            if (status.IsTerminal)
            {
                yield break;
            }

            await Task.Delay(_options.PollInterval, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<TrainingLogLine> GetLogsAsync(TrainingRun run, TrainingLogOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        options ??= TrainingLogOptions.Default;
        var record = IsMine(run) ? await _api.GetAsync(run.JobId, cancellationToken).ConfigureAwait(false) : null;
        if (record is null || !string.Equals(record.RunId, run.ResourceId, StringComparison.Ordinal))
        {
            throw new TrainingException(TrainingErrorCode.RunNotFound, $"Run '{run}' is not known to training executor '{Name}' (never created, or the service's retention removed it).") { ExecutorName = Name, JobId = run.JobId };
        }

        var page = await _api.GetLogsAsync(run.JobId, from: 0, tail: options.TailLines, cancellationToken).ConfigureAwait(false);
        while (page is not null)
        {
            foreach (var line in page.Lines)
            {
                if (options.Since is { } since && line.Time < since)
                {
                    continue;
                }

                yield return new TrainingLogLine(line.Text, options.Timestamps ? line.Time : null);
            }

            if (page.Complete && page.Lines.Count == 0)
            {
                yield break;
            }

            if (page.Lines.Count == 0)
            {
                if (!options.Follow)
                {
                    yield break;
                }

                await Task.Delay(_options.PollInterval, _time, cancellationToken).ConfigureAwait(false);
            }

            page = await _api.GetLogsAsync(run.JobId, from: page.Next, tail: null, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<TrainingRunStatus> StopAsync(TrainingRun run, TrainingStopOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (!IsMine(run))
        {
            return NotFound(run);
        }

        _monitor.EnsureStarted();
        var record = await _api.StopAsync(run.JobId, run.ResourceId, options?.GracePeriod ?? _options.StopGracePeriod, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            return NotFound(run);
        }

        await _monitor.ObserveAsync(record, startedHere: false, cancellationToken).ConfigureAwait(false);
        return ToStatus(record);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<TrainingRunStatus>> ListAsync(TrainingRunQuery? query = null, CancellationToken cancellationToken = default)
    {
        query ??= TrainingRunQuery.All;
        var page = await _api.ListAsync(since: 0, query.ProjectId, query.Labels, cancellationToken).ConfigureAwait(false);
        return page.Jobs
            .Select(ToStatus)
            .Where(s => query.Phases is not { Count: > 0 } phases || phases.Contains(s.Phase))
            .ToArray();
    }

    /// <inheritdoc />
    public async Task<TrainingRun?> FindAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        var record = await _api.GetAsync(jobId, cancellationToken).ConfigureAwait(false);
        return record is null ? null : Handle(record);
    }

    /// <inheritdoc />
    public async Task<ExecutorAvailability> CheckAvailabilityAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _api.IsHealthyAsync(cancellationToken).ConfigureAwait(false)
                ? ExecutorAvailability.Available(_time.GetUtcNow())
                : ExecutorAvailability.Unavailable($"the training service at {_options.ServiceUrl} reports itself unhealthy", _time.GetUtcNow());
        }
        catch (TrainingException e)
        {
            return ExecutorAvailability.Unavailable(e.Message, _time.GetUtcNow());
        }
    }

    /// <summary>Starts the background monitor that publishes what happens to the service's runs (also started by the first call).</summary>
    public void StartMonitoring() => _monitor.EnsureStarted();

    /// <summary>Stops the monitor and releases the HTTP client. Runs on the service are not touched.</summary>
    /// <returns>A task that completes when the monitor has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        await _monitor.DisposeAsync().ConfigureAwait(false);
        _api.Dispose();
    }

    /// <inheritdoc />
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>The run's status from a service record, with its latest known progress and, once terminal, its cost.</summary>
    internal TrainingRunStatus ToStatus(RemoteJobRecord record)
    {
        var (phase, reason) = record.State switch
        {
            RemoteJobStates.Queued => (TrainingPhase.Pending, record.Reason ?? TrainingStatusReasons.Starting),
            RemoteJobStates.Running => (TrainingPhase.Running, record.Reason ?? TrainingStatusReasons.Running),
            RemoteJobStates.Succeeded => (TrainingPhase.Succeeded, record.Reason ?? TrainingStatusReasons.Completed),
            RemoteJobStates.Failed => (TrainingPhase.Failed, record.Reason ?? TrainingStatusReasons.NonZeroExitCode),
            RemoteJobStates.Stopped => (TrainingPhase.Stopped, record.Reason ?? TrainingStatusReasons.StoppedByUser),
            _ => (TrainingPhase.Lost, record.Reason ?? "UnknownState"),
        };
        var status = new TrainingRunStatus
        {
            Run = Handle(record),
            Phase = phase,
            Reason = reason,
            Message = record.Message,
            CreatedAt = record.CreatedAt,
            StartedAt = record.StartedAt,
            FinishedAt = record.FinishedAt,
            ExitCode = record.ExitCode,
        };
        if (_progress.TryGetValue(record.RunId, out var progress))
        {
            status = status with
            {
                Progress = phase is TrainingPhase.Running or TrainingPhase.Succeeded
                    ? progress.WithEstimate(record.StartedAt, phase == TrainingPhase.Succeeded ? record.FinishedAt ?? _time.GetUtcNow() : _time.GetUtcNow())
                    : progress with { EstimatedTimeRemaining = null },
            };
        }

        return _cost.WithCost(status, record.Resources.Gpus, record.Resources.CpuRequest);
    }

    /// <summary>Remembers a run's latest progress (the monitor calls it for every progress line it reads).</summary>
    internal void RememberProgress(string runId, TrainingProgress progress) => _progress[runId] = progress;

    /// <summary>Forgets a run's progress once it is terminal and published (its status keeps it).</summary>
    internal void ForgetProgress(string runId) => _progress.TryRemove(runId, out _);

    internal TrainingRun Handle(RemoteJobRecord record) => new(Name, record.JobId, record.RunId);

    /// <summary>Whether a handle names this executor (another executor's handle is an unknown run here).</summary>
    private bool IsMine(TrainingRun run) => string.Equals(run.ExecutorName, Name, StringComparison.OrdinalIgnoreCase);

    internal static TrainingProgress? LatestProgress(IReadOnlyList<RemoteLogLine> lines)
    {
        for (var i = lines.Count - 1; i >= 0; i--)
        {
            if (TrainingProgressProtocol.TryParse(lines[i].Text, lines[i].Time, out var progress))
            {
                return progress;
            }
        }

        return null;
    }

    private static RemoteJobRequest ToRequest(TrainingJobConfig config) => new()
    {
        JobId = config.JobId,
        ConfigHash = config.ConfigHash,
        JobType = config.JobType.ToString().ToLowerInvariant(),
        Framework = config.Framework.Value,
        TaskType = config.TaskType,
        ModelName = config.ModelName,
        DatasetPath = config.DatasetPath,
        DatasetFormat = config.DatasetFormat,
        Epochs = config.Epochs,
        BatchSize = config.BatchSize,
        LearningRate = config.LearningRate,
        Optimizer = config.Optimizer,
        ImageSize = config.ImageSize,
        NumClasses = config.NumClasses,
        Pretrained = config.Pretrained,
        AdvancedConfig = config.AdvancedConfig,
        ProjectId = config.ProjectId,
        Labels = config.Labels,
        Environment = config.Environment,
        Resources = new RemoteJobResources
        {
            Gpus = config.Resources.Gpus,
            CpuRequest = config.Resources.CpuRequest,
            MemoryRequest = config.Resources.MemoryRequest,
        },
    };

    private static TrainingRunStatus NotFound(TrainingRun run) => new()
    {
        Run = run,
        Phase = TrainingPhase.NotFound,
        Reason = TrainingStatusReasons.NotFound,
        Message = "The training service has no such run (never created, or its retention removed it).",
    };
}
