using System.Globalization;
using System.Net;
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
/// See <c>docs/kubernetes.md</c>. The parts: start (<c>.Start.cs</c>), status reads and watching (<c>.Status.cs</c>),
/// stop (<c>.Stop.cs</c>), list and find (<c>.Queries.cs</c>), logs (<c>.Logs.cs</c>); this file holds construction,
/// availability and what they share.
/// </summary>
public sealed partial class KubernetesTrainingExecutor : ITrainingExecutor, IDisposable
{
    private const string JobsResource = "jobs (batch)";
    private const string ConfigMapsResource = "configmaps";
    private const string ServicesResource = "services";
    private const string PodsResource = "pods";
    private const string LogsResource = "pods/log";
    private const int MaxStopAttempts = 5;

    private readonly KubernetesConnection _connection;
    private readonly TrainingJobSpecBuilder _builder;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private RunStatusProjection? _projection;

    /// <summary>LocalQueues whose positions could not be read (logged once each).</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _positionsUnavailable = new(StringComparer.Ordinal);

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

    /// <summary>Where runs' logs are archived; log reads answer from it once a run's Job or pods are gone (set by <c>AddKubernetes</c>).</summary>
    internal VisionPlatform.Training.Storage.IRunLogArchive? LogArchive { get; init; }

    /// <summary>Adds cost to terminal statuses read from the API.</summary>
    private TrainingCostCalculator? Costs { get; }

    /// <summary>Status from what a direct read returned, through the same rules the monitor's cache uses.</summary>
    private RunStatusProjection Projection => _projection ??= new RunStatusProjection(Options, Costs);


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
            if (!string.IsNullOrEmpty(version?.GitVersion))
            {
                return new ExecutorAvailability(true, $"Kubernetes {version.GitVersion} at {_connection.Source}", _time.GetUtcNow());
            }

            reason = KubernetesErrors.NotAnApiServer(client.BaseUri, _connection.Source, "GET /version answered without a Kubernetes version (gitVersion)");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            reason = $"The Kubernetes API server (from {_connection.Source}) did not answer /version within {timeout}.";
        }
        catch (HttpOperationException ex)
        {
            reason = KubernetesErrors.ProbeFailed(ex, client.BaseUri, _connection.Source, Options.Namespace);
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or System.Runtime.Serialization.SerializationException)
        {
            reason = KubernetesErrors.NotAnApiServer(client.BaseUri, _connection.Source, "GET /version answered with something that is not a Kubernetes version");
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

    /// <summary>The Job a handle names; throws <see cref="TrainingErrorCode.RunNotFound"/> for a handle that is not a Kubernetes run.</summary>
    internal static (string Namespace, string Name) Locate(TrainingRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (!TryLocate(run, out var ns, out var name))
        {
            throw new TrainingException(TrainingErrorCode.RunNotFound, $"The run handle '{run}' is not a Kubernetes run (expected executor 'kubernetes' and resource id 'namespace/job-name').")
            {
                ExecutorName = KubernetesExecutorInfo.ExecutorName,
                JobId = run.JobId,
            };
        }

        return (ns, name);
    }

    /// <summary>The Job a handle names, or false for a handle of another executor or one that names no Job.</summary>
    internal static bool TryLocate(TrainingRun run, out string ns, out string name)
    {
        ArgumentNullException.ThrowIfNull(run);
        var parts = run.ResourceId.Split('/');
        if (!string.Equals(run.ExecutorName, KubernetesExecutorInfo.ExecutorName, StringComparison.OrdinalIgnoreCase) ||
            parts.Length != 2 || !NameSyntax.IsDnsLabel(parts[0]) || !NameSyntax.IsDnsSubdomain(parts[1]))
        {
            (ns, name) = (string.Empty, string.Empty);
            return false;
        }

        (ns, name) = (parts[0], parts[1]);
        return true;
    }

    internal static string PodSelector(V1Job job) =>
        job.Spec?.Selector?.MatchLabels is { Count: > 0 } labels
            ? string.Join(",", labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"))
            : $"job-name={job.Metadata.Name}";

    internal static bool BelongsTo(V1Job job, string jobId) =>
        job.Metadata?.Annotations?.TryGetValue(KubernetesLabels.JobIdAnnotation, out var id) == true && id == jobId;

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

    /// <summary>The status of a handle that names no Job of this executor (another executor's, or not a <c>namespace/job-name</c> resource id).</summary>
    private static TrainingRunStatus NotFound(TrainingRun run) => new()
    {
        Run = run,
        Phase = TrainingPhase.NotFound,
        Reason = TrainingStatusReasons.NotFound,
        Message = $"The run handle '{run}' is not a Kubernetes run (expected executor 'kubernetes' and resource id 'namespace/job-name').",
    };

    private TrainingRunStatus NotFound(TrainingRun run, string ns, string name) => new()
    {
        Run = run,
        Phase = TrainingPhase.NotFound,
        Reason = TrainingStatusReasons.NotFound,
        Message = $"No Job {ns}/{name} for job id '{run.JobId}' exists (never started, or removed {Options.Job.TtlSecondsAfterFinished?.ToString(CultureInfo.InvariantCulture) ?? "-"} s after it ended, stopped or not).",
    };
}
