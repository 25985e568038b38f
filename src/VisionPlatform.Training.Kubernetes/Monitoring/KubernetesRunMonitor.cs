using System.Collections.Concurrent;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Keeps every SDK run in the executor's namespace current with one list + watch for Jobs and one for their pods
/// (label <c>app.kubernetes.io/managed-by</c>), in a compact cache. Each change is mapped with
/// <see cref="KubernetesStatusMapper"/> and published to the event hub (terminal statuses with their cost); the executor
/// serves status, watch and list reads from the cache while the monitor is synced. See <c>docs/monitoring.md</c>.
/// </summary>
internal sealed class KubernetesRunMonitor : BackgroundService
{
    private readonly KubernetesExecutorOptions _options;
    private readonly ITrainingEventPublisher? _publisher;
    private readonly TrainingCostCalculator _costs;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Func<KubernetesConnection> _connectionFactory;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, CachedJob> _jobs = new(StringComparer.Ordinal);
    // A Job's pods by the Job's name: an array, usually of one pod (a dictionary per Job cost ~250 bytes a run).
    private readonly Dictionary<string, CachedPod[]> _pods = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TrainingRunStatus> _deleted = new(StringComparer.Ordinal);
    private readonly Queue<string> _deletedOrder = new();
    private readonly Dictionary<string, DateTimeOffset> _deferred = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _waiters = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PodLogFollower> _follows = new(StringComparer.Ordinal);
    private KubernetesConnection? _connection;
    private IKubernetes? _client;
    private ResourceInformer<V1Job>? _jobInformer;
    private ResourceInformer<V1Pod>? _podInformer;
    private volatile bool _running;
    private bool _publishing;

    // The resourceVersion up to which the pod cache holds every change, updated under _gate together with the cache.
    // Not the informer's own version: that one moves as an event is read, before the event is applied here.
    private long _podsVersion;

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
        _costs = costs ?? TrainingCostCalculator.Unpriced;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _connectionFactory = connectionFactory ?? (() => new KubernetesConnection(
            options.Connection,
            () => new KubernetesResilienceHandler(options.Connection.Resilience, _time, _logger) { Metrics = Metrics }));
    }

    /// <summary>Counts the monitor's API calls (lists and watches) on the SDK's meter; <see langword="null"/> for none.</summary>
    internal VisionPlatform.Training.Diagnostics.TrainingMetrics? Metrics { get; init; }

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
                return _jobs.Count + _deleted.Count;
            }
        }
    }

    /// <summary>The status of a run from the cache; false when the cache does not know the run (then read the API).</summary>
    /// <param name="run">The run.</param>
    /// <param name="stoppedAt">When this process stopped the run, if it did.</param>
    /// <param name="status">The status.</param>
    /// <param name="failedPod">The pod whose log tail the Failed status still lacks, or null.</param>
    public bool TryGetStatus(TrainingRun run, DateTimeOffset? stoppedAt, out TrainingRunStatus status, out string? failedPod)
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
            if (_jobs.TryGetValue(name, out var job) && job.Run.Equals(run))
            {
                status = Map(job, _time.GetUtcNow(), stoppedAt);
                if (status.Progress is null && _publisher?.TryGetStatus(run.JobId, out var known) == true && known.Run.Equals(run) && known.Progress is { } progress)
                {
                    // The latest VP_PROGRESS line seen while someone followed the run (no log is read for a status).
                    status = status with { Progress = progress };
                }

                if (status.Phase == TrainingPhase.Failed && job.FailureTail is null)
                {
                    failedPod = Pods(job).LastOrDefault()?.Name;
                }

                return true;
            }

            if (_deleted.TryGetValue(name, out var gone) && gone.Run.Equals(run))
            {
                status = gone;
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
            if (_jobs.TryGetValue(name, out var job) && job.Run.Equals(run))
            {
                job.FailureTail = tail;
                Publish(job);
            }
        }
    }

    /// <summary>The runs in the cache that match a query (labels already validated by the executor), oldest first.</summary>
    public IReadOnlyList<TrainingRunStatus> List(TrainingRunQuery query, Func<TrainingRun, DateTimeOffset?> stoppedAt)
    {
        var required = new List<KeyValuePair<string, string>>();
        if (query.ProjectId is { } project)
        {
            required.Add(new(KubernetesLabels.ProjectId, KubernetesJobNames.ToLabelValue(project)));
        }

        required.AddRange(query.Labels ?? new Dictionary<string, string>());
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            return _jobs.Values
                .Where(j => required.TrueForAll(l => j.HasLabel(l.Key, l.Value)))
                .OrderBy(j => j.Created ?? DateTime.MinValue).ThenBy(j => j.Name, StringComparer.Ordinal)
                .Select(j => Map(j, now, stoppedAt(j.Run)))
                .Where(s => query.Phases is not { Count: > 0 } phases || phases.Contains(s.Phase))
                .ToList();
        }
    }

    /// <summary>
    /// A task that completes when the run's cached state changes next (or the monitor's sync state does). Take it
    /// before reading the status so a change in between is not missed.
    /// </summary>
    public Task Changed(TrainingRun run) =>
        _waiters.GetOrAdd(KubernetesTrainingExecutor.Locate(run).Name, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <inheritdoc />
    public override void Dispose()
    {
        base.Dispose();
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
        var ns = _options.Namespace;
        var selector = $"{KubernetesLabels.ManagedBy}={KubernetesLabels.ManagedByValue}";
        var pageSize = _options.Monitor.ListPageSize;
        var timeoutSeconds = (int)_options.Monitor.WatchTimeout.TotalSeconds;
        _jobInformer = new ResourceInformer<V1Job>(
            "jobs",
            async (next, ct) =>
            {
                var page = await client.BatchV1.ListNamespacedJobAsync(ns, labelSelector: selector, limit: pageSize, continueParameter: next, cancellationToken: ct).ConfigureAwait(false);
                return (page.Items ?? [], page.Metadata?.ResourceVersion, page.Metadata?.ContinueProperty);
            },
            (rv, onError, ct) => client.BatchV1.WatchListNamespacedJobAsync(ns, allowWatchBookmarks: true, labelSelector: selector, resourceVersion: rv, timeoutSeconds: timeoutSeconds, onError: onError, cancellationToken: ct),
            new JobTarget(this),
            _options.Monitor,
            _time,
            _logger);
        _podInformer = new ResourceInformer<V1Pod>(
            "pods",
            async (next, ct) =>
            {
                var page = await client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: selector, limit: pageSize, continueParameter: next, cancellationToken: ct).ConfigureAwait(false);
                return (page.Items ?? [], page.Metadata?.ResourceVersion, page.Metadata?.ContinueProperty);
            },
            (rv, onError, ct) => client.CoreV1.WatchListNamespacedPodAsync(ns, allowWatchBookmarks: true, labelSelector: selector, resourceVersion: rv, timeoutSeconds: timeoutSeconds, onError: onError, cancellationToken: ct),
            new PodTarget(this),
            _options.Monitor,
            _time,
            _logger);

        _running = true;
        MonitorLog.Started(_logger, ns);
        if (_publisher is not null)
        {
            _publisher.InterestChanged += OnInterestChanged;
        }

        try
        {
            await Task.WhenAll(
                _jobInformer.RunAsync(stoppingToken),
                _podInformer.RunAsync(stoppingToken),
                ReevaluateAsync(stoppingToken)).ConfigureAwait(false);
        }
        finally
        {
            _running = false;
            if (_publisher is not null)
            {
                _publisher.InterestChanged -= OnInterestChanged;
            }

            List<PodLogFollower> follows;
            lock (_gate)
            {
                follows = [.. _follows.Values];
                _follows.Clear();
            }

            foreach (var follow in follows)
            {
                follow.Stop();
            }

            await Task.WhenAll(follows.Select(f => f.Completion)).ConfigureAwait(false);
            foreach (var follow in follows)
            {
                follow.Dispose();
            }

            SignalAll();
        }
    }

    private async Task ReevaluateAsync(CancellationToken cancellationToken)
    {
        // Only time moves a pod stuck pulling its image to Failed (ImagePullBackOffTimeout); no watch event says so.
        using var timer = new PeriodicTimer(_options.Monitor.ReevaluateInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                lock (_gate)
                {
                    var now = _time.GetUtcNow();
                    foreach (var (name, since) in _deferred.ToList())
                    {
                        // The pod watch is slow or quiet (bookmarks are rare on real servers): publish what is known, but
                        // only once the Job has waited a whole interval, so a Job held back just before a tick still gets
                        // its pod's exit code (a second terminal event for the same run would break "each phase once").
                        if (now - since < _options.Monitor.ReevaluateInterval)
                        {
                            continue;
                        }

                        _deferred.Remove(name);
                        if (_jobs.TryGetValue(name, out var late))
                        {
                            Publish(late, Map(late, _time.GetUtcNow(), null));
                        }
                    }

                    foreach (var job in _jobs.Values)
                    {
                        if (!job.IsFinished && Pods(job).Any(p => p.WaitingReason is "ErrImagePull" or "ImagePullBackOff"))
                        {
                            Publish(job);
                        }
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private void ReplaceJobs(IReadOnlyList<V1Job> items)
    {
        lock (_gate)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var item in items)
            {
                if (Upsert(item) is { } job)
                {
                    seen.Add(job.Name);
                }
            }

            // Deleted while no watch was open (a re-list after 410, or an outage): the same as a DELETED event.
            foreach (var name in _jobs.Keys.Where(n => !seen.Contains(n)).ToList())
            {
                Remove(name, null);
            }

            PublishAll();
        }
    }

    private void ApplyJob(WatchEventType type, V1Job item)
    {
        lock (_gate)
        {
            if (type == WatchEventType.Deleted)
            {
                Remove(item.Metadata?.Name, item.Metadata?.Uid);
            }
            else
            {
                var known = item.Metadata?.Name is { } name && _jobs.TryGetValue(name, out var previous) && previous.Uid.ToString() == item.Metadata.Uid;
                if (Upsert(item) is { } job)
                {
                    job.New |= type == WatchEventType.Added && !known;
                    Publish(job);
                }
            }
        }
    }

    private void ReplacePods(IReadOnlyList<V1Pod> items, string? resourceVersion)
    {
        lock (_gate)
        {
            _podsVersion = ParseVersion(resourceVersion);
            _pods.Clear();
            foreach (var item in items)
            {
                if (CachedPod.From(item, out var jobName) is { } pod)
                {
                    SetPod(jobName, pod);
                }
            }

            PublishAll();
            PublishCaughtUp();
        }
    }

    private void ApplyPod(WatchEventType type, V1Pod item)
    {
        var pod = CachedPod.From(item, out var jobName);
        lock (_gate)
        {
            _podsVersion = Math.Max(_podsVersion, ParseVersion(item.Metadata?.ResourceVersion));
            if (pod is null)
            {
                return;
            }

            if (type == WatchEventType.Deleted)
            {
                RemovePod(jobName, pod.Name);
            }
            else
            {
                SetPod(jobName, pod);
            }

            if (_jobs.TryGetValue(jobName, out var job))
            {
                Publish(job);
            }

            PublishCaughtUp();
        }
    }

    private void PodsAdvanced(string resourceVersion)
    {
        lock (_gate)
        {
            _podsVersion = Math.Max(_podsVersion, ParseVersion(resourceVersion));
            PublishCaughtUp();
        }
    }

    private void PublishCaughtUp()
    {
        if (_deferred.Count == 0)
        {
            return;
        }

        foreach (var name in _deferred.Keys.ToList())
        {
            if (!_jobs.TryGetValue(name, out var job))
            {
                _deferred.Remove(name);
            }
            else if (!PodsBehind(job))
            {
                Publish(job);
            }
        }
    }

    /// <summary>
    /// Whether the pod watch has not yet delivered everything that happened before the Job's last change. The two watches
    /// are separate streams: a Job's Complete condition can arrive before the pod's exit code, which would publish a
    /// final status without it (and then a second one with it). resourceVersions are etcd revisions, shared by all
    /// types; when either is not a number, nothing is held back.
    /// </summary>
    private bool PodsBehind(CachedJob job) =>
        job.ResourceVersion > 0 &&
        _podsVersion > 0 &&
        _podsVersion < job.ResourceVersion &&
        !PodsSettled(job);

    private static long ParseVersion(string? resourceVersion) =>
        long.TryParse(resourceVersion, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var version) ? version : 0;

    /// <summary>
    /// Whether the cache already holds every pod the Job counted as finished, all of them terminal. A run's last write is
    /// usually the Job's own status, after its pod's; no pod event follows it, so waiting for the pod watch to pass the
    /// Job's resourceVersion would hold the final event until the next bookmark, for no new information.
    /// </summary>
    private bool PodsSettled(CachedJob job)
    {
        if (!_pods.TryGetValue(job.Name, out var pods) || pods.Length == 0)
        {
            return false;
        }

        foreach (var pod in pods)
        {
            if (pod.Phase is not ("Succeeded" or "Failed"))
            {
                return false;
            }
        }

        return pods.Length >= job.Succeeded + job.Failed;
    }

    private void SyncChanged()
    {
        lock (_gate)
        {
            if (!_publishing && _jobInformer?.Synced == true && _podInformer?.Synced == true)
            {
                // Publish only once both lists are in, so a running Job is never reported Pending for lack of its pod.
                _publishing = true;
                PublishAll();
            }
        }

        SignalAll();
    }

    private CachedJob? Upsert(V1Job item)
    {
        var name = item.Metadata?.Name;
        if (name is null)
        {
            return null;
        }

        _jobs.TryGetValue(name, out var previous);
        if (CachedJob.From(item, Namespace, _options.Gpu.ResourceName, previous) is not { } job)
        {
            return null;
        }

        // Keyed by the record's own name string, so the run keeps one copy of it (its pods too, when they came first).
        _jobs[job.Name] = job;
        if (previous is null && _pods.Remove(name, out var pods))
        {
            _pods[job.Name] = pods;
        }

        _deleted.Remove(name);
        return job;
    }

    private void Remove(string? name, string? uid)
    {
        if (name is null || !_jobs.TryGetValue(name, out var job) || (uid is not null && Guid.TryParse(uid, out var u) && u != job.Uid))
        {
            return;
        }

        _jobs.Remove(name);
        var now = _time.GetUtcNow();
        var final = Map(job, now, job.IsFinished ? null : KubernetesStatusMapper.ToOffset(job.DeletionTimestamp) ?? now);
        if (_options.Monitor.DeletedRunRetention > 0)
        {
            _deleted[name] = final;
            _deletedOrder.Enqueue(name);
            while (_deleted.Count > _options.Monitor.DeletedRunRetention && _deletedOrder.TryDequeue(out var oldest))
            {
                _deleted.Remove(oldest);
            }
        }

        Publish(job, final);
    }

    private void PublishAll()
    {
        foreach (var job in _jobs.Values)
        {
            Publish(job);
        }
    }

    private void Publish(CachedJob job, TrainingRunStatus? status = null)
    {
        if (_publishing && _publisher is { } publisher)
        {
            if (status is null && job.IsFinished && PodsBehind(job))
            {
                // Held back until the pod watch catches up (PublishCaughtUp), at the latest until the next re-evaluation.
                _deferred.TryAdd(job.Name, _time.GetUtcNow());
                Signal(job.Name);
                return;
            }

            _deferred.Remove(job.Name);
            status ??= Map(job, _time.GetUtcNow(), null);
            if (job.New && job.PublishedPhase is null && status.Phase != TrainingPhase.Pending && !publisher.TryGetStatus(job.Run.JobId, out _))
            {
                // A Job created while watched was pending first, even when its pod's events arrived before the Job's
                // (the two watches are separate streams, replayed separately after a reconnect).
                publisher.PublishStatus(status with
                {
                    Phase = TrainingPhase.Pending,
                    Reason = TrainingStatusReasons.Starting,
                    Message = "The Job was created.",
                    StartedAt = null,
                    FinishedAt = null,
                    ExitCode = null,
                    Cost = null,
                    Progress = null,
                });
                job.PublishedPhase = TrainingPhase.Pending;
            }

            job.New = false;
            if (status.Phase is TrainingPhase.Succeeded or TrainingPhase.Failed && job.PublishedPhase == TrainingPhase.Pending && status.StartedAt is not null)
            {
                // The run started and finished between two observations (an outage, a re-list): it did run, so say so.
                publisher.PublishStatus(status with
                {
                    Phase = TrainingPhase.Running,
                    Reason = TrainingStatusReasons.Running,
                    Message = $"Attempt {status.Attempt} ran (observed after it finished).",
                    FinishedAt = null,
                    ExitCode = null,
                    Cost = null,
                });
            }

            publisher.PublishStatus(status);
            job.PublishedPhase = status.Phase;
            UpdateFollow(job);
        }

        Signal(job.Name);
    }

    private void OnInterestChanged(string? jobId)
    {
        if (!_running)
        {
            return;
        }

        lock (_gate)
        {
            if (jobId is null)
            {
                foreach (var job in _jobs.Values)
                {
                    UpdateFollow(job);
                }
            }
            else if (_jobs.TryGetValue(KubernetesJobNames.FromJobId(jobId), out var job))
            {
                UpdateFollow(job);
            }
        }
    }

    /// <summary>
    /// Follows the run's pod log while someone wants its progress or log lines and its trainer runs (at most
    /// <c>Monitor:MaxLogFollows</c> at once); stops following when nobody does. A follow whose pod stopped ends by
    /// itself once the log is drained, so the last progress line is not lost.
    /// </summary>
    private void UpdateFollow(CachedJob job)
    {
        if (_publisher is not { } publisher || _client is not { } client)
        {
            return;
        }

        var jobId = job.Run.JobId;
        var wanted = publisher.WantsProgress(jobId) || publisher.WantsLogs(jobId);
        if (_follows.TryGetValue(job.Name, out var current))
        {
            if (!wanted && !current.Stopping)
            {
                current.Stop();
            }

            return;
        }

        var pods = Pods(job);
        if (!wanted || job.IsFinished || pods.Count == 0 || !pods[^1].IsRunning)
        {
            return;
        }

        if (_follows.Count >= _options.Monitor.MaxLogFollows)
        {
            MonitorLog.FollowLimit(_logger, jobId, _options.Monitor.MaxLogFollows);
            return;
        }

        var pod = pods[^1];
        var follow = new PodLogFollower(client, Namespace, job.Run, pod.Name, pods.Count, publisher, () => IsPodRunning(job.Name, pod.Name), _time, _logger);
        _follows[job.Name] = follow;
        follow.Completion.ContinueWith(
            _ =>
            {
                lock (_gate)
                {
                    if (_follows.TryGetValue(job.Name, out var registered) && ReferenceEquals(registered, follow))
                    {
                        _follows.Remove(job.Name);
                    }

                    // A retry's pod may have started meanwhile.
                    if (_running && _jobs.TryGetValue(job.Name, out var latest))
                    {
                        UpdateFollow(latest);
                    }
                }

                follow.Dispose();
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private bool IsPodRunning(string jobName, string podName)
    {
        lock (_gate)
        {
            return _pods.TryGetValue(jobName, out var pods) && Array.Find(pods, p => p.Name == podName) is { IsRunning: true };
        }
    }

    private TrainingRunStatus Map(CachedJob job, DateTimeOffset now, DateTimeOffset? stoppedAt)
    {
        var status = KubernetesStatusMapper.Map(job.Run, job.ToJob(Namespace), Pods(job).Select(p => p.ToPod()).ToList(), now, _options, job.IsFinished ? null : stoppedAt);
        if (status.Phase == TrainingPhase.Failed && !string.IsNullOrEmpty(job.FailureTail))
        {
            status = status with { Message = $"{status.Message}{Environment.NewLine}Last log lines:{Environment.NewLine}{job.FailureTail}" };
        }

        return _costs.WithCost(status, job.Gpus, job.CpuRequest);
    }

    private List<CachedPod> Pods(CachedJob job) =>
        _pods.TryGetValue(job.Name, out var pods)
            ? pods.Where(p => p.OwnerUid == Guid.Empty || p.OwnerUid == job.Uid)
                .OrderBy(p => p.Created ?? DateTime.MinValue).ThenBy(p => p.Name, StringComparer.Ordinal).ToList()
            : [];

    /// <summary>Adds or replaces a pod of a Job (by pod name).</summary>
    private void SetPod(string jobName, CachedPod pod)
    {
        if (!_pods.TryGetValue(jobName, out var pods))
        {
            // Keyed by the cached Job's own name string when the Job is known, so the run keeps one copy of it.
            _pods[_jobs.TryGetValue(jobName, out var job) ? job.Name : jobName] = [pod];
            return;
        }

        var index = Array.FindIndex(pods, p => p.Name == pod.Name);
        if (index >= 0)
        {
            // The arrays never leave the lock (Pods copies them), so a pod is replaced in place.
            pods[index] = pod;
        }
        else
        {
            _pods[jobName] = [.. pods, pod];
        }
    }

    private void RemovePod(string jobName, string podName)
    {
        if (!_pods.TryGetValue(jobName, out var pods))
        {
            return;
        }

        var index = Array.FindIndex(pods, p => p.Name == podName);
        if (index < 0)
        {
            return;
        }

        if (pods.Length == 1)
        {
            _pods.Remove(jobName);
        }
        else
        {
            _pods[jobName] = [.. pods.AsSpan(0, index), .. pods.AsSpan(index + 1)];
        }
    }

    private void Signal(string name)
    {
        if (_waiters.TryRemove(name, out var waiter))
        {
            waiter.TrySetResult();
        }
    }

    private void SignalAll()
    {
        foreach (var name in _waiters.Keys)
        {
            Signal(name);
        }
    }

    private sealed class JobTarget(KubernetesRunMonitor monitor) : IInformerTarget<V1Job>
    {
        public void Replace(IReadOnlyList<V1Job> items, string? resourceVersion) => monitor.ReplaceJobs(items);

        public void Apply(WatchEventType type, V1Job item) => monitor.ApplyJob(type, item);

        public void Advanced(string resourceVersion)
        {
        }

        public void SyncChanged() => monitor.SyncChanged();
    }

    private sealed class PodTarget(KubernetesRunMonitor monitor) : IInformerTarget<V1Pod>
    {
        public void Replace(IReadOnlyList<V1Pod> items, string? resourceVersion) => monitor.ReplacePods(items, resourceVersion);

        public void Apply(WatchEventType type, V1Pod item) => monitor.ApplyPod(type, item);

        public void Advanced(string resourceVersion) => monitor.PodsAdvanced(resourceVersion);

        public void SyncChanged() => monitor.SyncChanged();
    }
}
