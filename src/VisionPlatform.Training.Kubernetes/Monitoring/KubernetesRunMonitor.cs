using k8s;
using k8s.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Keeps every SDK run in the executor's namespace current with one list + watch for Jobs and one for their pods
/// (label <c>app.kubernetes.io/managed-by</c>), and one optional one for the Job controller's FailedCreate Events. The
/// parts, each with one job: <see cref="ResourceInformer{T}"/> (list, watch, resume; created in
/// <c>KubernetesRunMonitor.Informers.cs</c>), <see cref="RunCache"/> (compact records), <see cref="PodCreateFailures"/>
/// (refusals for Jobs not cached yet), <see cref="RunStatusProjection"/> (status from the records,
/// shared with the executor's direct reads), <see cref="RunEventPublishing"/> (events), <see cref="LogFollows"/> (log
/// follows for progress and log events) and <see cref="RunWaiters"/>. This class runs them and answers the executor's
/// reads from the cache while it is synced. See <c>docs/monitoring.md</c>.
/// </summary>
internal sealed partial class KubernetesRunMonitor : BackgroundService
{
    private readonly KubernetesExecutorOptions _options;
    private readonly ITrainingEventPublisher? _publisher;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Func<KubernetesConnection> _connectionFactory;
    private readonly Lock _gate = new();
    private readonly RunCache _cache;
    private readonly RunStatusProjection _projection;
    private readonly RunWaiters _waiters = new();
    private readonly RunEventPublishing _events;
    private KubernetesConnection? _connection;
    private LogFollows? _follows;
    private LogArchiving? _archiving;
    private LogArchiveLease? _lease;
    private ResourceInformer<V1Job>? _jobInformer;
    private ResourceInformer<V1Pod>? _podInformer;
    private ResourceInformer<Corev1Event>? _eventInformer;
    private ResourceInformer<KueueWorkload>? _workloadInformer;
    private IKubernetes? _client;

    private readonly PodCreateFailures _createFailures = new();
    private volatile bool _running;

    public KubernetesRunMonitor(
        KubernetesExecutorOptions options,
        ITrainingEventPublisher? publisher,
        TrainingCostCalculator? costs,
        TimeProvider? time,
        ILogger<KubernetesRunMonitor>? logger,
        Func<KubernetesConnection>? connectionFactory = null)
    {
        _options = options;
        _publisher = publisher;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _connectionFactory = connectionFactory ?? (() => new KubernetesConnection(
            options.Connection,
            () => new KubernetesResilienceHandler(options.Connection.Resilience, _time, _logger) { Metrics = Metrics }));
        _cache = new RunCache(options.Namespace, options);
        _projection = new RunStatusProjection(options, costs);
        _events = new RunEventPublishing(_cache, publisher, j => Project(j, _time.GetUtcNow()), j => _follows?.Update(j), _waiters, _time, name => _follows?.IsFollowing(name) == true, j => _follows?.Update(j));
    }

    /// <summary>Counts the monitor's API calls (lists and watches) on the SDK's meter; <see langword="null"/> for none.</summary>
    internal VisionPlatform.Training.Diagnostics.TrainingMetrics? Metrics { get; init; }

    /// <summary>Where runs' logs are archived (<c>Training:Kubernetes:Logs</c>); <see langword="null"/> for nowhere.</summary>
    internal VisionPlatform.Training.Storage.IRunLogArchive? LogArchive { get; init; }

    /// <summary>Whether this monitor archives runs' logs: an archive is registered, the monitor runs and <c>Logs:Archive</c> is not false.</summary>
    internal bool Archives => LogArchive is not null && _options.Monitor.Enabled && _options.Logs.Archive != false;

    /// <summary>This host's identity in the archiving Lease; <see langword="null"/> while it does not archive at all.</summary>
    internal string? ArchiveLeaseIdentity => _lease?.Identity;

    /// <summary>Whether this host holds the archiving Lease of its namespace, and so archives runs' logs and sets their TTL.</summary>
    internal bool HoldsArchiveLease => _lease?.IsHeld == true;

    /// <summary>The namespace watched.</summary>
    public string Namespace => _options.Namespace;

    /// <summary>Whether reads can be served from the cache: running, both lists done, no re-list pending.</summary>
    public bool IsSynced => _running && _jobInformer?.Synced == true && _podInformer?.Synced == true;

    /// <summary>Runs in the cache (live and recently deleted).</summary>
    public int TrackedRuns
    {
        get
        {
            lock (_gate)
            {
                return _cache.Count;
            }
        }
    }

    /// <summary>The status of a run from the cache; false when the cache does not know the run (then read the API).</summary>
    /// <param name="run">The run.</param>
    /// <param name="status">The status.</param>
    /// <param name="failedPod">The pod whose log tail the Failed status still lacks, or null.</param>
    public bool TryGetStatus(TrainingRun run, out TrainingRunStatus status, out string? failedPod)
    {
        var (ns, name) = KubernetesTrainingExecutor.Locate(run);
        failedPod = null;
        status = null!;
        if (ns != Namespace)
        {
            return false;
        }

        lock (_gate)
        {
            if (_cache.TryGetJob(name, out var job) && job.Run.Equals(run))
            {
                status = Project(job, _time.GetUtcNow());
                if (status.Progress is null && _publisher?.TryGetStatus(run.JobId, out var known) == true && known.Run.Equals(run) && known.Progress is { } progress)
                {
                    // The latest VP_PROGRESS line seen while someone followed the run (no log is read for a status).
                    status = status with { Progress = progress };
                }

                if (status.Phase == TrainingPhase.Failed && job.FailureTail is null && RunStatusProjection.TerminationMessage(_cache.PodsOf(job)) is null)
                {
                    failedPod = PodGroup.FailedPod(_cache.PodsOf(job))?.Name;
                }

                return true;
            }
        }

        return false;
    }

    /// <summary>Keeps the failed trainer's last log lines for the run's Failed status (read once by the executor).</summary>
    public void RememberFailureTail(TrainingRun run, string tail)
    {
        var (_, name) = KubernetesTrainingExecutor.Locate(run);
        lock (_gate)
        {
            if (_cache.TryGetJob(name, out var job) && job.Run.Equals(run))
            {
                job.FailureTail = tail;
                _events.Publish(job);
            }
        }
    }

    /// <summary>
    /// Takes in the API server's answer to one of the executor's own writes (a create, a stop) at once, so this host reads
    /// its own writes even before the watch delivers them; the watch's copy (same resourceVersion) then changes nothing.
    /// </summary>
    public void Observe(V1Job written)
    {
        if (!_running || written.Metadata?.NamespaceProperty is { } ns && ns != Namespace)
        {
            return;
        }

        ApplyJob(WatchEventType.Modified, written, created: false);
    }

    /// <summary>Like <see cref="Observe"/>, for a Job this host just created (reported Pending first).</summary>
    public void ObserveCreated(V1Job created)
    {
        if (!_running || created.Metadata?.NamespaceProperty is { } ns && ns != Namespace)
        {
            return;
        }

        ApplyJob(WatchEventType.Added, created, created: true);
    }

    /// <summary>The runs in the cache that match a query (labels already validated by the executor), oldest first.</summary>
    public IReadOnlyList<TrainingRunStatus> List(TrainingRunQuery query)
    {
        var required = new List<KeyValuePair<string, string>>();
        var project = query.ProjectId;

        required.AddRange(query.Labels ?? new Dictionary<string, string>());
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            return _cache.Jobs
                .Where(j => (project is null || j.IsInProject(project)) && required.TrueForAll(l => j.HasLabel(l.Key, l.Value)))
                .OrderBy(j => j.Created ?? DateTime.MinValue).ThenBy(j => j.Name, StringComparer.Ordinal)
                .Select(j => Project(j, now))
                .Where(s => query.Phases is not { Count: > 0 } phases || phases.Contains(s.Phase))
                .ToList();
        }
    }

    /// <summary>
    /// A task that completes when the run's cached state changes next (or the monitor's sync state does). Take it
    /// before reading the status so a change in between is not missed.
    /// </summary>
    public Task Changed(TrainingRun run) => _waiters.Next(KubernetesTrainingExecutor.Locate(run).Name);

    /// <inheritdoc />
    public override void Dispose()
    {
        base.Dispose();
        _positionsWanted.Dispose();
        _connection?.Dispose();
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Monitor.Enabled)
        {
            return;
        }

        _connection = _connectionFactory();
        if (_connection.Error is { } error)
        {
            MonitorLog.NotStarted(_logger, error);
            return;
        }

        var client = _connection.GetClient();
        _client = client;
        CreateInformers(client);
        if (_options.Kueue.IsEnabled)
        {
            CreateWorkloadInformer(client);
        }

        if (_publisher is not null)
        {
            _follows = new LogFollows(_gate, _cache, _publisher, client, Namespace, _options.Monitor.MaxLogFollows, () => _running, _time, _logger, _events.PublishCaughtUp);
        }

        if (Archives)
        {
            _archiving = new LogArchiving(_gate, _cache, client, Namespace, LogArchive!, _options, () => _running, () => _jobInformer?.Synced == true && _podInformer?.Synced == true, Observe, _time, _logger);
            var archiving = _archiving;
            _lease = new LogArchiveLease(client, Namespace, _options.Logs, () => Task.Run(archiving.Lead), archiving.AbandonAllAsync, _time, _logger);
        }

        _running = true;
        MonitorLog.Started(_logger, Namespace);
        if (_publisher is not null)
        {
            _publisher.InterestChanged += OnInterestChanged;
        }

        // The Lease is renewed until the archivers flushed (below), so no other host takes over while they write.
        using var leaseStop = new CancellationTokenSource();
        var leasing = _lease?.RunAsync(leaseStop.Token) ?? Task.CompletedTask;
        try
        {
            await Task.WhenAll(
                _jobInformer!.RunAsync(stoppingToken),
                _podInformer!.RunAsync(stoppingToken),
                _eventInformer!.RunAsync(stoppingToken),
                _workloadInformer?.RunAsync(stoppingToken) ?? Task.CompletedTask,
                _workloadInformer is null ? Task.CompletedTask : RefreshPositionsAsync(stoppingToken),
                ReevaluateAsync(stoppingToken)).ConfigureAwait(false);
        }
        finally
        {
            _running = false;
            if (_publisher is not null)
            {
                _publisher.InterestChanged -= OnInterestChanged;
            }

            if (_follows is not null)
            {
                await _follows.StopAllAsync().ConfigureAwait(false);
            }

            if (_archiving is not null)
            {
                await _archiving.StopAllAsync().ConfigureAwait(false);
            }

            await leaseStop.CancelAsync().ConfigureAwait(false);
            await leasing.ConfigureAwait(false);
            if (_lease is not null)
            {
                await _lease.ReleaseAsync().ConfigureAwait(false);
            }

            _waiters.SignalAll();
        }
    }

    private async Task ReevaluateAsync(CancellationToken cancellationToken)
    {
        // Only time moves a pod stuck pulling its image (ImagePullBackOffTimeout), or a pod the cluster keeps refusing
        // (PodCreateFailureTimeout), to Failed; no watch event says so.
        using var timer = new PeriodicTimer(_options.Monitor.ReevaluateInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                lock (_gate)
                {
                    _archiving?.UpdateAll();
                    _events.PublishOverdue(_options.Monitor.ReevaluateInterval);
                    foreach (var job in _cache.Jobs)
                    {
                        if (!job.IsFinished && (job.CreateFailure is not null || _cache.PodsOf(job).Any(p => p.WaitingReason is "ErrImagePull" or "ImagePullBackOff")))
                        {
                            _events.Publish(job);
                        }
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private TrainingRunStatus Project(CachedJob job, DateTimeOffset now, DateTimeOffset? removedAt = null)
    {
        AttachKueue(job);
        return _projection.Project(job, _cache.PodsOf(job), now, job.FailureTail, job.IsFinished ? null : removedAt);
    }

    private void ReplaceJobs(IReadOnlyList<V1Job> items, string? resourceVersion)
    {
        lock (_gate)
        {
            var listed = new HashSet<string>(StringComparer.Ordinal);
            foreach (var item in items)
            {
                if (item.Metadata?.Name is { } name)
                {
                    listed.Add(name);
                    if (_cache.Upsert(item, out _) is { } upserted)
                    {
                        _createFailures.Attach(upserted);
                        AttachKueue(upserted);
                        EnforceBudgetIfSpent(upserted);
                    }
                }
            }

            // Deleted while no watch was open (a re-list after 410, or an outage): the same as a DELETED event. A Job the
            // executor wrote after the list was taken is newer than it, not missing.
            foreach (var name in _cache.MissingFrom(listed, RunCache.ParseVersion(resourceVersion)))
            {
                Remove(name, null);
            }

            _events.PublishAll();
            _archiving?.UpdateAll();
        }
    }

    private void ApplyJob(WatchEventType type, V1Job item, bool created = false)
    {
        lock (_gate)
        {
            if (type == WatchEventType.Deleted)
            {
                Remove(item.Metadata?.Name, item.Metadata?.Uid);
            }
            else if (_cache.Upsert(item, out var known) is { } job)
            {
                _createFailures.Attach(job);

                // A Job that arrives after its Workload: the budget is checked from either side.
                AttachKueue(job);
                EnforceBudgetIfSpent(job);
                job.New |= (type == WatchEventType.Added || created) && !known;
                _events.Publish(job);
                _archiving?.Update(job);
            }
        }
    }

    private void Remove(string? name, string? uid)
    {
        if (_cache.Remove(name, uid) is not { } job)
        {
            return;
        }

        _archiving?.Forget(job.Name);

        var now = _time.GetUtcNow();
        // Its last status goes out as an event; reads answer NotFound from now on, as on every other host: the Job was the
        // run's record, and once it is gone the job id is free (the job-id rule).
        _events.Publish(job, Project(job, now, removedAt: now));
    }

    private void ReplacePods(IReadOnlyList<V1Pod> items, string? resourceVersion)
    {
        lock (_gate)
        {
            _cache.ReplacePods(items, resourceVersion);
            _events.PublishAll();
            _archiving?.UpdateAll();
            _events.PublishCaughtUp();
        }
    }

    private void ApplyPod(WatchEventType type, V1Pod item)
    {
        lock (_gate)
        {
            if (_cache.ApplyPod(type == WatchEventType.Deleted, item) is { } jobName && _cache.TryGetJob(jobName, out var job))
            {
                _events.Publish(job);
                _archiving?.Update(job);
            }

            _events.PublishCaughtUp();
        }
    }

    private void PodsAdvanced(string resourceVersion)
    {
        lock (_gate)
        {
            _cache.AdvancePods(resourceVersion);
            _events.PublishCaughtUp();
        }
    }

    private void SyncChanged()
    {
        lock (_gate)
        {
            if (_jobInformer?.Synced == true && _podInformer?.Synced == true)
            {
                _events.Start();
                _archiving?.UpdateAll();
            }
        }

        _waiters.SignalAll();
    }

    private void OnInterestChanged(string? jobId)
    {
        if (!_running || _follows is null)
        {
            return;
        }

        lock (_gate)
        {
            if (jobId is null)
            {
                foreach (var job in _cache.Jobs)
                {
                    _follows.Update(job);
                }
            }
            else if (_cache.TryGetJob(KubernetesJobNames.FromJobId(jobId), out var job) || _cache.TryGetJob(KubernetesJobNames.GroupNameFromJobId(jobId), out job))
            {
                _follows.Update(job);
            }
        }
    }
}
