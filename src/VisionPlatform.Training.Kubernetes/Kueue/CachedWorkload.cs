namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// What the SDK keeps of a run's Kueue Workload: whether it holds quota or is admitted, why not (the ClusterQueue's
/// message), whether it was evicted and why, and how often it was preempted. Kueue counts evictions in
/// <c>status.schedulingStats.evictions</c>, so the count is durable: the same on every host and after restarts.
/// </summary>
internal sealed record CachedWorkload
{
    public required string Name { get; init; }

    /// <summary>The uid of the Job that owns the Workload (owner reference, else the <c>kueue.x-k8s.io/job-uid</c> label).</summary>
    public required string? JobUid { get; init; }

    /// <summary>The name of the owning Job, when the Workload names it.</summary>
    public string? JobName { get; init; }

    public string? QueueName { get; init; }

    /// <summary><c>spec.active</c> (default true); false once deactivated (by the SDK when the preemption budget is spent).</summary>
    public bool Active { get; init; } = true;

    public bool QuotaReserved { get; init; }

    public bool Admitted { get; init; }

    /// <summary>The <c>QuotaReserved=False</c> (else <c>Admitted=False</c>) condition's message: why the queue does not admit it yet.</summary>
    public string? PendingMessage { get; init; }

    /// <summary>The <c>Evicted=True</c> condition's reason (<c>Preempted</c>, <c>PodsReadyTimeout</c>, ...), or null.</summary>
    public string? EvictedReason { get; init; }

    public string? EvictedMessage { get; init; }

    /// <summary>Evictions with reason <c>Preempted</c>, summed over <c>status.schedulingStats.evictions</c>.</summary>
    public int Preemptions { get; init; }

    /// <summary>Every eviction, whatever its reason.</summary>
    public int Evictions { get; init; }

    public static CachedWorkload? From(KueueWorkload workload)
    {
        var metadata = workload.Metadata;
        if (metadata?.Name is not { } name)
        {
            return null;
        }

        var owner = metadata.OwnerReferences?.FirstOrDefault(o => o.Kind == "Job" && (o.ApiVersion ?? "batch/v1").StartsWith("batch/", StringComparison.Ordinal));
        var jobUid = owner?.Uid ?? (metadata.Labels?.TryGetValue(KubernetesLabels.KueueJobUid, out var uid) == true ? uid : null);
        var conditions = workload.Status?.Conditions ?? [];
        var quota = conditions.FirstOrDefault(c => c.Type == "QuotaReserved");
        var admitted = conditions.FirstOrDefault(c => c.Type == "Admitted");
        var evicted = conditions.FirstOrDefault(c => c.Type == "Evicted" && c.Status == "True");
        var evictions = workload.Status?.SchedulingStats?.Evictions ?? [];
        return new CachedWorkload
        {
            Name = name,
            JobUid = jobUid,
            JobName = owner?.Name,
            QueueName = StringPool.Share(workload.Spec?.QueueName),
            Active = workload.Spec?.Active != false,
            QuotaReserved = quota?.Status == "True",
            Admitted = admitted?.Status == "True",
            PendingMessage = StringPool.Share(quota is { Status: "False" } ? quota.Message : admitted is { Status: "False" } ? admitted.Message : null),
            EvictedReason = StringPool.Share(evicted?.Reason),
            EvictedMessage = evicted?.Message,
            Preemptions = evictions.Where(e => e.Reason == KueueApi.PreemptedReason).Sum(e => Math.Max(0, e.Count)),
            Evictions = evictions.Sum(e => Math.Max(0, e.Count)),
        };
    }

    /// <summary>Whether this Workload belongs to the Job (by uid).</summary>
    public bool IsOf(CachedJob job) => JobUid is not null && Guid.TryParse(JobUid, out var uid) && uid == job.Uid;
}
