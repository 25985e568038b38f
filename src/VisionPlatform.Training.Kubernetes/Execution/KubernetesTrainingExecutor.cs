using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VisionPlatform.Training.Diagnostics;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Runs training jobs as Kubernetes Jobs built by <see cref="TrainingJobSpecBuilder"/>.
/// <list type="bullet">
/// <item><description>Start is one create call; a repeat with the same config returns the existing run.</description></item>
/// <item><description>Status is read from the Job and its pods (scheduling, image pulls, retries, OOM kills, deadlines).</description></item>
/// <item><description>Logs come from the current attempt's pod (or every attempt's), and following moves on to retries.</description></item>
/// <item><description>Stop records the stop on the Job and ends it (its pods are removed); the Job stays until its TTL, so the run stays findable.</description></item>
/// </list>
/// See <c>docs/kubernetes.md</c>.
/// </summary>
public sealed class KubernetesTrainingExecutor : ITrainingExecutor, IDisposable
{
    private const string JobsResource = "jobs (batch)";
    private const string PodsResource = "pods";
    private const string LogsResource = "pods/log";
    private const int MaxStopAttempts = 5;

    private readonly KubernetesConnection _connection;
    private readonly TrainingJobSpecBuilder _builder;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private RunStatusProjection? _projection;

    /// <summary>
    /// Creates an executor that connects as <c>Training:Kubernetes:Connection</c> says (or through the merged KUBECONFIG
    /// files, ~/.kube/config or the in-cluster account), with API calls retried as <c>Training:Kubernetes:Connection:Resilience</c> says.
    /// </summary>
    /// <param name="builder">Builds the Jobs; its options configure the executor.</param>
    /// <param name="timeProvider">The clock (default system).</param>
    /// <param name="logger">The logger (default none).</param>
    /// <param name="metrics">Counts every API attempt on the SDK's meter; <see langword="null"/> for none.</param>
    /// <param name="costs">Adds cost to terminal statuses read from the API; <see langword="null"/> for none.</param>
    public KubernetesTrainingExecutor(
        TrainingJobSpecBuilder builder,
        TimeProvider? timeProvider = null,
        ILogger<KubernetesTrainingExecutor>? logger = null,
        TrainingMetrics? metrics = null,
        TrainingCostCalculator? costs = null)
        : this(
            new KubernetesConnection(
                (builder ?? throw new ArgumentNullException(nameof(builder))).Options.Connection,
                () => new KubernetesResilienceHandler(builder.Options.Connection.Resilience, timeProvider, logger) { Metrics = metrics }),
            builder,
            timeProvider,
            logger,
            costs)
    {
    }

    /// <summary>Creates an executor over an existing client (which the caller keeps owning and disposes).</summary>
    /// <param name="client">The Kubernetes client.</param>
    /// <param name="builder">Builds the Jobs; its options configure the executor.</param>
    /// <param name="timeProvider">The clock (default system).</param>
    /// <param name="logger">The logger (default none).</param>
    /// <param name="costs">Adds cost to terminal statuses read from the API; <see langword="null"/> for none.</param>
    public KubernetesTrainingExecutor(
        IKubernetes client,
        TrainingJobSpecBuilder builder,
        TimeProvider? timeProvider = null,
        ILogger<KubernetesTrainingExecutor>? logger = null,
        TrainingCostCalculator? costs = null)
        : this(new KubernetesConnection(client ?? throw new ArgumentNullException(nameof(client)), "the client passed to the executor"), builder, timeProvider, logger, costs)
    {
    }

    internal KubernetesTrainingExecutor(KubernetesConnection connection, TrainingJobSpecBuilder builder, TimeProvider? timeProvider, ILogger? logger, TrainingCostCalculator? costs = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        _connection = connection;
        _builder = builder;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        Costs = costs;
    }

    /// <inheritdoc />
    public string Name => KubernetesExecutorInfo.ExecutorName;

    private KubernetesExecutorOptions Options => _builder.Options;

    /// <summary>The run monitor whose cache serves reads while it is synced (set by <c>AddKubernetes</c>); none when constructed by hand.</summary>
    internal KubernetesRunMonitor? Monitor { get; init; }

    /// <summary>Adds cost to terminal statuses read from the API.</summary>
    private TrainingCostCalculator? Costs { get; }

    /// <summary>Status from what a direct read returned, through the same rules the monitor's cache uses.</summary>
    private RunStatusProjection Projection => _projection ??= new RunStatusProjection(Options, Costs);

    /// <inheritdoc />
    public Task<TrainingRun> StartAsync(TrainingJobConfig config, CancellationToken cancellationToken = default) =>
        StartAsync(config, jobOptions: null, cancellationToken);

    /// <summary>Starts a run with per-job Kubernetes settings (a custom image).</summary>
    /// <param name="config">The validated job.</param>
    /// <param name="jobOptions">Per-job settings; <see langword="null"/> for none.</param>
    /// <param name="cancellationToken">Cancels the call (not the run).</param>
    /// <returns>The run's handle; its resource id is <c>namespace/job-name</c>.</returns>
    /// <exception cref="TrainingValidationException">The Job would be rejected; nothing was sent.</exception>
    /// <exception cref="TrainingException">A Job with this job id exists with a different config (<see cref="TrainingErrorCode.JobConflict"/>), or the API failed.</exception>
    public async Task<TrainingRun> StartAsync(TrainingJobConfig config, KubernetesJobOptions? jobOptions, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        var job = _builder.Build(config, jobOptions);
        var ns = job.Metadata.NamespaceProperty;
        var name = job.Metadata.Name;
        var run = new TrainingRun(Name, config.JobId, $"{ns}/{name}");
        var client = _connection.GetClient();

        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var created = await client.BatchV1.CreateNamespacedJobAsync(job, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
                Monitor?.ObserveCreated(created);
                Log.JobCreated(_logger, ns, name, config.JobId);
                return run;
            }
            catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.Conflict))
            {
                var existing = await TryReadJobAsync(client, ns, name, config.JobId, cancellationToken).ConfigureAwait(false);
                if (existing is null && attempt == 0)
                {
                    continue; // Deleted between our create and read: create again, once.
                }

                EnsureSameRun(existing, config, job.Metadata.Annotations[KubernetesLabels.ConfigHashAnnotation], ns, name);
                Monitor?.Observe(existing!);
                Log.JobAlreadyExists(_logger, ns, name, config.JobId);
                return run;
            }
            catch (HttpOperationException ex)
            {
                throw KubernetesErrors.Translate(ex, "create", JobsResource, ns, config.JobId, isWrite: true);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
            {
                throw KubernetesErrors.WriteFailed(ex, _connection.Source, "create", JobsResource, config.JobId);
            }
        }
    }

    /// <inheritdoc />
    public async Task<TrainingRunStatus> GetStatusAsync(TrainingRun run, CancellationToken cancellationToken = default)
    {
        var (ns, name) = Locate(run);
        if (Monitor is { IsSynced: true } monitor && monitor.TryGetStatus(run, out var cached, out var failedPod))
        {
            // From the monitor's cache: no API call, except one log read the first time a run is seen Failed.
            if (failedPod is not null && Options.FailureLogLines > 0)
            {
                var lines = await TryReadTailAsync(_connection.GetClient(), ns, failedPod, Options.FailureLogLines, cancellationToken).ConfigureAwait(false);
                monitor.RememberFailureTail(run, string.Join(Environment.NewLine, lines));
                monitor.TryGetStatus(run, out cached, out _);
            }

            return cached;
        }

        var client = _connection.GetClient();
        var job = await TryReadJobAsync(client, ns, name, run.JobId, cancellationToken).ConfigureAwait(false);
        return job is null || !BelongsTo(job, run.JobId)
            ? NotFound(run, ns, name)
            : await StatusOfAsync(client, run, job, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<TrainingRunStatus> WatchAsync(TrainingRun run, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        TrainingRunStatus? last = null;
        while (true)
        {
            // Taken before the read, so a change in between wakes the wait below.
            var changed = Monitor is { IsSynced: true } monitor ? monitor.Changed(run) : null;
            var status = await GetStatusAsync(run, cancellationToken).ConfigureAwait(false);
            if (last is null || last.Phase != status.Phase || last.Reason != status.Reason || last.Attempt != status.Attempt ||
                last.ExitCode != status.ExitCode || last.Message != status.Message)
            {
                last = status;
                yield return status;
            }

            if (status.IsTerminal)
            {
                yield break;
            }

            if (changed is not null)
            {
                // Event-driven while the monitor is synced; the timeout only re-checks a run nothing reports on.
                await WaitAsync(changed, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await Task.Delay(Options.PollInterval, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc />
    public IAsyncEnumerable<TrainingLogLine> GetLogsAsync(TrainingRun run, TrainingLogOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (ns, name) = Locate(run);
        options ??= TrainingLogOptions.Default;
        if (options.TailLines is < 0)
        {
            throw new TrainingValidationException([new TrainingValidationError(nameof(TrainingLogOptions.TailLines), options.TailLines.ToString(), "must be 0 or more")]);
        }

        var reader = new KubernetesLogReader(_connection, ns, name, run.JobId, options, Options.PollInterval, _time, _logger);
        return options.Follow ? reader.FollowAsync(cancellationToken) : reader.ReadAsync(cancellationToken);
    }

    /// <summary>
    /// Stops a pending or running run and keeps it findable: one PATCH of the Job (merge patch, with the uid and
    /// resourceVersion read just before as preconditions) records the stop (<see cref="KubernetesLabels.StopRequestedAnnotation"/>,
    /// <see cref="KubernetesLabels.StopReasonAnnotation"/>) and sets <c>spec.activeDeadlineSeconds</c> to 0, so the Job
    /// controller fails the Job (DeadlineExceeded) and deletes its active pods with their own grace period. The Job stays
    /// until its <c>ttlSecondsAfterFinished</c>: every host reports the run <see cref="TrainingPhase.Stopped"/> until then,
    /// and a start with the same job id and config returns it. A run that already finished keeps its outcome.
    /// </summary>
    /// <param name="run">The run.</param>
    /// <param name="options">
    /// <see cref="TrainingStopOptions.GracePeriod"/>: the pods' grace period comes from the Job's template
    /// (<c>Job:TerminationGracePeriod</c>), which cannot change on a running Job. A shorter one is applied by also deleting
    /// the pods with it (needs <c>deletecollection</c> on pods, which the least-privilege Role does not grant: then a
    /// warning is logged and the template's applies); a longer one cannot be granted.
    /// </param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The run's status after the stop (Stopped, or the outcome of a run that had already finished).</returns>
    public async Task<TrainingRunStatus> StopAsync(TrainingRun run, TrainingStopOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (ns, name) = Locate(run);
        var client = _connection.GetClient();
        for (var attempt = 1; ; attempt++)
        {
            var job = await TryReadJobAsync(client, ns, name, run.JobId, cancellationToken).ConfigureAwait(false);
            if (job is null || !BelongsTo(job, run.JobId))
            {
                return NotFound(run, ns, name);
            }

            if (KubernetesStatusMapper.IsOver(job))
            {
                // Stopped before (stop is idempotent), being deleted, or finished: a finished run keeps its outcome (and its
                // Job, until the TTL) instead of turning into "Stopped".
                if (!KubernetesStatusMapper.IsStopRequested(job))
                {
                    Log.StopOfFinishedJob(_logger, ns, name, run.JobId);
                }

                return await StatusOfAsync(client, run, job, cancellationToken).ConfigureAwait(false);
            }

            V1Job stopped;
            try
            {
                stopped = await client.BatchV1.PatchNamespacedJobAsync(StopPatch(job), name, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.Conflict) && attempt < MaxStopAttempts)
            {
                continue; // The Job changed (its status, or it was replaced) since it was read: read it again.
            }
            catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.NotFound))
            {
                return NotFound(run, ns, name);
            }
            catch (HttpOperationException ex)
            {
                throw KubernetesErrors.Translate(ex, "patch", JobsResource, ns, run.JobId);
            }
            catch (HttpRequestException ex)
            {
                throw KubernetesErrors.Unreachable(ex, _connection.Source, "patch", JobsResource, run.JobId);
            }

            Log.JobStopped(_logger, ns, name, run.JobId);
            Monitor?.Observe(stopped);
            if (options?.GracePeriod is { } grace && grace < TimeSpan.FromSeconds(stopped.Spec?.Template?.Spec?.TerminationGracePeriodSeconds ?? 30))
            {
                await DeletePodsAsync(client, stopped, (long)Math.Ceiling(grace.TotalSeconds), cancellationToken).ConfigureAwait(false);
            }

            return await StatusOfAsync(client, run, stopped, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<TrainingRunStatus>> ListAsync(TrainingRunQuery? query = null, CancellationToken cancellationToken = default)
    {
        query ??= TrainingRunQuery.All;
        var selector = BuildSelector(query);
        if (Monitor is { IsSynced: true } monitor)
        {
            return monitor.List(query);
        }

        var ns = Options.Namespace;
        var client = _connection.GetClient();
        var jobs = new List<V1Job>();
        var pods = new List<V1Pod>();
        try
        {
            string? next = null;
            do
            {
                var page = await client.BatchV1.ListNamespacedJobAsync(ns, labelSelector: selector, limit: 500, continueParameter: next, cancellationToken: cancellationToken).ConfigureAwait(false);
                jobs.AddRange(page.Items ?? []);
                next = page.Metadata?.ContinueProperty;
            }
            while (!string.IsNullOrEmpty(next));

            next = null;
            do
            {
                var page = await client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: selector, limit: 500, continueParameter: next, cancellationToken: cancellationToken).ConfigureAwait(false);
                pods.AddRange(page.Items ?? []);
                next = page.Metadata?.ContinueProperty;
            }
            while (!string.IsNullOrEmpty(next));
        }
        catch (HttpOperationException ex)
        {
            throw KubernetesErrors.Translate(ex, "list", JobsResource + " and " + PodsResource, ns, null);
        }
        catch (HttpRequestException ex)
        {
            throw KubernetesErrors.Unreachable(ex, _connection.Source, "list", JobsResource, null);
        }

        var now = _time.GetUtcNow();
        var result = new List<TrainingRunStatus>(jobs.Count);
        foreach (var job in jobs.OrderBy(j => j.Metadata?.CreationTimestamp ?? DateTime.MinValue).ThenBy(j => j.Metadata?.Name, StringComparer.Ordinal))
        {
            var jobId = job.Metadata?.Annotations?.TryGetValue(KubernetesLabels.JobIdAnnotation, out var id) == true ? id : null;
            if (string.IsNullOrEmpty(jobId) || (query.ProjectId is { } project && !KubernetesProject.Matches(job.Metadata, project)))
            {
                continue;
            }

            var run = new TrainingRun(Name, jobId, $"{ns}/{job.Metadata!.Name}");
            var status = Projection.Project(
                CachedJob.From(job, run, Options.Gpu.ResourceName),
                pods.Where(p => IsPodOf(p, job)).Select(CachedPod.Read).OfType<CachedPod>().ToList(),
                now,
                failureTail: null);
            if (query.Phases is not { Count: > 0 } phases || phases.Contains(status.Phase))
            {
                result.Add(status);
            }
        }

        return result;
    }

    /// <inheritdoc />
    public async Task<TrainingRun?> FindAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        var ns = Options.Namespace;
        var name = KubernetesJobNames.FromJobId(jobId);
        var job = await TryReadJobAsync(_connection.GetClient(), ns, name, jobId, cancellationToken).ConfigureAwait(false);
        return job is not null && BelongsTo(job, jobId) ? new TrainingRun(Name, jobId, $"{ns}/{name}") : null;
    }

    /// <inheritdoc />
    public async Task<ExecutorAvailability> CheckAvailabilityAsync(CancellationToken cancellationToken = default)
    {
        if (_connection.Error is { } error)
        {
            Log.Unavailable(_logger, error);
            return ExecutorAvailability.Unavailable(error, _time.GetUtcNow());
        }

        var client = _connection.GetClient();
        var timeout = Options.Connection.AvailabilityTimeout;
        // The deadline runs on the injected clock, like every other wait of the executor.
        using var deadline = new CancellationTokenSource(timeout, _time);
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        string reason;
        try
        {
            var version = await client.Version.GetCodeAsync(timer.Token).ConfigureAwait(false);
            return new ExecutorAvailability(true, $"Kubernetes {version.GitVersion} at {_connection.Source}", _time.GetUtcNow());
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            reason = $"The Kubernetes API server (from {_connection.Source}) did not answer /version within {timeout}.";
        }
        catch (HttpOperationException ex)
        {
            reason = KubernetesErrors.Translate(ex, "get", "/version", Options.Namespace, null).Message;
        }
        catch (HttpRequestException ex)
        {
            reason = $"The Kubernetes API server (from {_connection.Source}) cannot be reached: {ex.Message}";
        }

        Log.Unavailable(_logger, reason);
        return ExecutorAvailability.Unavailable(reason, _time.GetUtcNow());
    }

    /// <summary>Disposes the client the executor created (not one passed in).</summary>
    public void Dispose() => _connection.Dispose();

    internal static (string Namespace, string Name) Locate(TrainingRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var parts = run.ResourceId.Split('/');
        if (!string.Equals(run.ExecutorName, KubernetesExecutorInfo.ExecutorName, StringComparison.OrdinalIgnoreCase) ||
            parts.Length != 2 || !NameSyntax.IsDnsLabel(parts[0]) || !NameSyntax.IsDnsSubdomain(parts[1]))
        {
            throw new TrainingException(TrainingErrorCode.RunNotFound, $"The run handle '{run}' is not a Kubernetes run (expected executor 'kubernetes' and resource id 'namespace/job-name').")
            {
                ExecutorName = KubernetesExecutorInfo.ExecutorName,
                JobId = run.JobId,
            };
        }

        return (parts[0], parts[1]);
    }

    internal static string PodSelector(V1Job job) =>
        job.Spec?.Selector?.MatchLabels is { Count: > 0 } labels
            ? string.Join(",", labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"))
            : $"job-name={job.Metadata.Name}";

    internal static bool BelongsTo(V1Job job, string jobId) =>
        job.Metadata?.Annotations?.TryGetValue(KubernetesLabels.JobIdAnnotation, out var id) == true && id == jobId;

    private static bool IsPodOf(V1Pod pod, V1Job job)
    {
        var uid = job.Metadata?.Uid;
        if (pod.Metadata?.OwnerReferences?.FirstOrDefault(o => o.Controller == true) is { } owner)
        {
            return owner.Uid == uid;
        }

        var labels = pod.Metadata?.Labels ?? new Dictionary<string, string>();
        return (labels.TryGetValue("batch.kubernetes.io/controller-uid", out var u) || labels.TryGetValue("controller-uid", out u))
            ? u == uid
            : labels.TryGetValue("job-name", out var n) && n == job.Metadata?.Name;
    }

    private static string BuildSelector(TrainingRunQuery query)
    {
        var parts = new List<string> { $"{KubernetesLabels.ManagedBy}={KubernetesLabels.ManagedByValue}" };
        if (query.ProjectId is { } project)
        {
            parts.Add($"{KubernetesLabels.ProjectId}={KubernetesJobNames.ToLabelValue(project)}");
        }

        var errors = new List<TrainingValidationError>();
        foreach (var (key, value) in query.Labels ?? new Dictionary<string, string>())
        {
            if (!NameSyntax.IsQualifiedName(key) || !NameSyntax.IsLabelValue(value))
            {
                errors.Add(new TrainingValidationError($"Labels[{key}]", value, "must be a valid label key and value (" + NameSyntax.QualifiedNameRule + "; value " + NameSyntax.LabelValueRule + ")"));
                continue;
            }

            parts.Add($"{key}={value}");
        }

        return errors.Count > 0 ? throw new TrainingValidationException(errors) : string.Join(",", parts);
    }

    private void EnsureSameRun(V1Job? existing, TrainingJobConfig config, string expectedHash, string ns, string name)
    {
        var annotations = existing?.Metadata?.Annotations ?? new Dictionary<string, string>();
        annotations.TryGetValue(KubernetesLabels.JobIdAnnotation, out var existingId);
        annotations.TryGetValue(KubernetesLabels.ConfigHashAnnotation, out var existingHash);
        if (existing is null || existingId != config.JobId)
        {
            throw new TrainingException(TrainingErrorCode.JobConflict,
                $"Job {ns}/{name} already exists but was not created for job id '{config.JobId}' (it belongs to '{existingId ?? "unknown"}'); use another job id or delete that Job.")
            {
                ExecutorName = Name,
                JobId = config.JobId,
            };
        }

        if (existingHash != expectedHash)
        {
            throw new TrainingException(TrainingErrorCode.JobConflict,
                $"A run for job id '{config.JobId}' already exists (Job {ns}/{name}) with a different configuration or image (config hash {existingHash} vs {expectedHash}). Use a new job id to run a changed job.")
            {
                ExecutorName = Name,
                JobId = config.JobId,
            };
        }
    }

    private async Task<V1Job?> TryReadJobAsync(IKubernetes client, string ns, string name, string jobId, CancellationToken cancellationToken)
    {
        try
        {
            return await client.BatchV1.ReadNamespacedJobAsync(name, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.NotFound))
        {
            return null;
        }
        catch (HttpOperationException ex)
        {
            throw KubernetesErrors.Translate(ex, "get", JobsResource, ns, jobId);
        }
        catch (HttpRequestException ex)
        {
            throw KubernetesErrors.Unreachable(ex, _connection.Source, "get", JobsResource, jobId);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw KubernetesErrors.Unreachable(ex, _connection.Source, "get", JobsResource, jobId);
        }
    }

    private async Task<IReadOnlyList<V1Pod>> ListPodsAsync(IKubernetes client, V1Job job, string jobId, CancellationToken cancellationToken)
    {
        var ns = job.Metadata.NamespaceProperty ?? Options.Namespace;
        try
        {
            var list = await client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: PodSelector(job), cancellationToken: cancellationToken).ConfigureAwait(false);
            return (list.Items ?? []).Where(p => IsPodOf(p, job)).ToList();
        }
        catch (HttpOperationException ex)
        {
            throw KubernetesErrors.Translate(ex, "list", PodsResource, ns, jobId);
        }
        catch (HttpRequestException ex)
        {
            throw KubernetesErrors.Unreachable(ex, _connection.Source, "list", PodsResource, jobId);
        }
    }

    /// <summary>The merge patch of a stop: preconditions (uid, resourceVersion), the stop's time and reason, and a deadline of 0.</summary>
    private V1Patch StopPatch(V1Job job)
    {
        var at = _time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var patch = new System.Text.Json.Nodes.JsonObject
        {
            ["metadata"] = new System.Text.Json.Nodes.JsonObject
            {
                ["uid"] = job.Metadata.Uid,
                ["resourceVersion"] = job.Metadata.ResourceVersion,
                ["annotations"] = new System.Text.Json.Nodes.JsonObject
                {
                    [KubernetesLabels.StopRequestedAnnotation] = at,
                    [KubernetesLabels.StopReasonAnnotation] = TrainingStatusReasons.StoppedByUser,
                },
            },
            ["spec"] = new System.Text.Json.Nodes.JsonObject { ["activeDeadlineSeconds"] = 0 },
        };
        return new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch);
    }

    private TrainingRunStatus NotFound(TrainingRun run, string ns, string name) => new()
    {
        Run = run,
        Phase = TrainingPhase.NotFound,
        Reason = TrainingStatusReasons.NotFound,
        Message = $"No Job {ns}/{name} for job id '{run.JobId}' exists (never started, or removed {Options.Job.TtlSecondsAfterFinished?.ToString(CultureInfo.InvariantCulture) ?? "-"} s after it ended, stopped or not).",
    };

    /// <summary>The status of a Job read from the API: its pods listed, the failed trainer's last lines read.</summary>
    private async Task<TrainingRunStatus> StatusOfAsync(IKubernetes client, TrainingRun run, V1Job job, CancellationToken cancellationToken)
    {
        var pods = (await ListPodsAsync(client, job, run.JobId, cancellationToken).ConfigureAwait(false))
            .Select(CachedPod.Read).OfType<CachedPod>().ToList();
        var record = CachedJob.From(job, run, Options.Gpu.ResourceName);
        var now = _time.GetUtcNow();
        var status = Projection.Project(record, pods, now, failureTail: null);
        if (status.Phase == TrainingPhase.Failed && Options.FailureLogLines > 0 && pods.Count > 0)
        {
            var (ns, _) = Locate(run);
            var tail = await TryReadTailAsync(client, ns, CachedPod.OrderByCreation(pods)[^1].Name, Options.FailureLogLines, cancellationToken).ConfigureAwait(false);
            if (tail.Count > 0)
            {
                status = Projection.Project(record, pods, now, string.Join(Environment.NewLine, tail));
            }
        }

        return status;
    }

    private async Task WaitAsync(Task changed, CancellationToken cancellationToken)
    {
        try
        {
            await changed.WaitAsync(TimeSpan.FromSeconds(30), _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
    }

    private async Task<IReadOnlyList<string>> TryReadTailAsync(IKubernetes client, string ns, string podName, int lines, CancellationToken cancellationToken)
    {
        try
        {
            using var stream = await client.CoreV1.ReadNamespacedPodLogAsync(podName, ns, container: TrainingJobSpecBuilder.ContainerName, tailLines: lines, cancellationToken: cancellationToken).ConfigureAwait(false);
            return await PodLogLineReader.ReadTailAsync(stream, lines, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpOperationException or HttpRequestException or IOException)
        {
            Log.FailureLogUnavailable(_logger, podName, ex.Message);
            return [];
        }
    }

    private async Task DeletePodsAsync(IKubernetes client, V1Job job, long graceSeconds, CancellationToken cancellationToken)
    {
        var ns = job.Metadata.NamespaceProperty ?? Options.Namespace;
        try
        {
            var pods = await ListPodsAsync(client, job, job.Metadata.Name, cancellationToken).ConfigureAwait(false);
            await PodDeletion.DeleteAsync(client, ns, pods, graceSeconds, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpOperationException or TrainingException)
        {
            // Needs 'delete pods'; without it the garbage collector still removes them with their own grace period.
            Log.PodGraceDeleteFailed(_logger, ns, job.Metadata.Name, graceSeconds, (ex as HttpOperationException) is { } http ? KubernetesErrors.ReadStatus(http)?.Message ?? http.Message : ex.Message);
        }
    }
}
