using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// The monitor's compact records of the namespace's runs: Jobs by name, their pods, and the last status of recently
/// deleted runs. Not thread-safe: the monitor calls it under its lock.
/// </summary>
internal sealed class RunCache(string ns, KubernetesExecutorOptions options)
{
    private readonly Dictionary<string, CachedJob> _jobs = new(StringComparer.Ordinal);
    // A Job's pods by the Job's name: an array, usually of one pod (a dictionary per Job cost ~250 bytes a run).
    private readonly Dictionary<string, CachedPod[]> _pods = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TrainingRunStatus> _deleted = new(StringComparer.Ordinal);
    private readonly Queue<string> _deletedOrder = new();

    // The resourceVersion up to which the pod records hold every change. Not the informer's own version: that one moves
    // as an event is read, before the event is applied here.
    private long _podsVersion;

    /// <summary>Runs held (live and recently deleted).</summary>
    public int Count => _jobs.Count + _deleted.Count;

    public IEnumerable<CachedJob> Jobs => _jobs.Values;

    public bool TryGetJob(string name, out CachedJob job) => _jobs.TryGetValue(name, out job!);

    public bool TryGetDeleted(string name, out TrainingRunStatus status) => _deleted.TryGetValue(name, out status!);

    /// <summary>
    /// Adds or replaces a Job's record. Returns null for a Job that is not a run of the SDK, and for a state older than
    /// (or the same as) the one held: resourceVersions are etcd revisions, so a number that did not grow is no news. That
    /// lets the executor put the answer to its own write in early (<see cref="KubernetesRunMonitor.Observe"/>) without the
    /// watch's lagging copy of an earlier state undoing it.
    /// </summary>
    /// <param name="item">The Job.</param>
    /// <param name="known">Whether this Job (same uid) was held before.</param>
    public CachedJob? Upsert(V1Job item, out bool known)
    {
        known = false;
        var name = item.Metadata?.Name;
        if (name is null)
        {
            return null;
        }

        _jobs.TryGetValue(name, out var previous);
        known = previous is not null && previous.Uid.ToString() == item.Metadata!.Uid;
        if (known && previous!.ResourceVersion > 0 && ParseVersion(item.Metadata!.ResourceVersion) is > 0 and var version && version <= previous.ResourceVersion)
        {
            return null;
        }

        if (CachedJob.From(item, ns, options.Gpu.ResourceName, previous) is not { } job)
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

    /// <summary>Removes a Job's record (when <paramref name="uid"/> is given, only the Job with that uid).</summary>
    public CachedJob? Remove(string? name, string? uid)
    {
        if (name is null || !_jobs.TryGetValue(name, out var job) || (uid is not null && Guid.TryParse(uid, out var u) && u != job.Uid))
        {
            return null;
        }

        _jobs.Remove(name);
        return job;
    }

    /// <summary>Keeps a deleted run's last status (at most <c>Monitor:DeletedRunRetention</c>, oldest dropped first).</summary>
    public void RetainDeleted(string name, TrainingRunStatus final)
    {
        if (options.Monitor.DeletedRunRetention <= 0)
        {
            return;
        }

        _deleted[name] = final;
        _deletedOrder.Enqueue(name);
        while (_deleted.Count > options.Monitor.DeletedRunRetention && _deletedOrder.TryDequeue(out var oldest))
        {
            _deleted.Remove(oldest);
        }
    }

    /// <summary>The Jobs a complete list at <paramref name="listVersion"/> did not contain and that are not newer than it.</summary>
    public List<string> MissingFrom(HashSet<string> listed, long listVersion) =>
        _jobs.Values.Where(j => !listed.Contains(j.Name) && (listVersion == 0 || j.ResourceVersion == 0 || j.ResourceVersion <= listVersion))
            .Select(j => j.Name)
            .ToList();

    public void ReplacePods(IReadOnlyList<V1Pod> items, string? resourceVersion)
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
    }

    /// <summary>Applies one pod event; returns the Job the pod belongs to, or null for a pod of no Job.</summary>
    public string? ApplyPod(bool deleted, V1Pod item)
    {
        AdvancePods(item.Metadata?.ResourceVersion);
        if (CachedPod.From(item, out var jobName) is not { } pod)
        {
            return null;
        }

        if (deleted)
        {
            RemovePod(jobName, pod.Name);
        }
        else
        {
            SetPod(jobName, pod);
        }

        return jobName;
    }

    public void AdvancePods(string? resourceVersion) => _podsVersion = Math.Max(_podsVersion, ParseVersion(resourceVersion));

    /// <summary>The Job's pods (those naming no controller uid, or its uid), oldest first.</summary>
    public List<CachedPod> PodsOf(CachedJob job) =>
        _pods.TryGetValue(job.Name, out var pods)
            ? CachedPod.OrderByCreation(pods.Where(p => p.OwnerUid == Guid.Empty || p.OwnerUid == job.Uid))
            : [];

    public bool IsPodRunning(string jobName, string podName) =>
        _pods.TryGetValue(jobName, out var pods) && Array.Find(pods, p => p.Name == podName) is { IsRunning: true };

    /// <summary>
    /// Whether the pod watch has not yet delivered everything that happened before the Job's last change. The two watches
    /// are separate streams: a Job's Complete condition can arrive before the pod's exit code, which would publish a
    /// final status without it (and then a second one with it). When either version is not a number, nothing is held back.
    /// </summary>
    public bool PodsBehind(CachedJob job) =>
        job.ResourceVersion > 0 &&
        _podsVersion > 0 &&
        _podsVersion < job.ResourceVersion &&
        !PodsSettled(job);

    public static long ParseVersion(string? resourceVersion) =>
        long.TryParse(resourceVersion, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var version) ? version : 0;

    /// <summary>
    /// Whether the records already hold every pod the Job counted as finished, all of them terminal. A run's last write is
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
            // The arrays never leave the cache (PodsOf copies them), so a pod is replaced in place.
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
}
