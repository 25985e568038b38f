namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Kueue (<c>kueue.x-k8s.io</c>) support, bound from <c>Training:Kubernetes:Kueue</c>. With a <see cref="QueueName"/> every
/// Job is created suspended in that LocalQueue (label <c>kueue.x-k8s.io/queue-name</c>), Kueue admits it when its
/// ClusterQueue has quota, and statuses say <see cref="TrainingStatusReasons.Queued"/> (with the position in the queue)
/// or <see cref="TrainingStatusReasons.Preempted"/>. Without a queue (the default) nothing changes: no label, no extra
/// watch, no extra call. See <c>docs/kubernetes.md</c>, section "Kueue".
/// </summary>
public sealed class KubernetesKueueOptions
{
    /// <summary>The default number of preemptions a run may take before it is failed (<see cref="MaxPreemptions"/>).</summary>
    public const int DefaultMaxPreemptions = 10;

    /// <summary>
    /// The LocalQueue every run is submitted to (label <c>kueue.x-k8s.io/queue-name</c> on the Job), unless a run sets
    /// its own (<see cref="KubernetesJobOptions.QueueName"/>). A DNS subdomain of at most 63 characters (it is a label
    /// value). Unset: runs are not queued.
    /// </summary>
    public string? QueueName { get; set; }

    /// <summary>
    /// The Kueue <c>WorkloadPriorityClass</c> of every run (label <c>kueue.x-k8s.io/priority-class</c>), unless a run sets
    /// its own (<see cref="KubernetesJobOptions.WorkloadPriorityClass"/>). It orders and preempts workloads in Kueue only;
    /// the pods' own priority is <see cref="KubernetesExecutorOptions.PriorityClassName"/>.
    /// </summary>
    public string? WorkloadPriorityClass { get; set; }

    /// <summary>
    /// How many times a queued run may be preempted (its Workload evicted with reason <c>Preempted</c>, counted by Kueue
    /// in <c>status.schedulingStats.evictions</c>) before the SDK fails it with
    /// <see cref="TrainingStatusReasons.PreemptionBudgetExhausted"/> and deactivates its Workload (default 10; 0: the first
    /// preemption fails the run).
    /// </summary>
    public int MaxPreemptions { get; set; } = DefaultMaxPreemptions;

    /// <summary>
    /// The shortest time between two reads of the queue positions from Kueue's visibility API (one call per queue with
    /// waiting runs; default 10 seconds, between 1 second and 10 minutes). Positions change as workloads ahead are
    /// admitted; reading them more often costs an API call per queue each time, whatever the number of runs.
    /// </summary>
    public TimeSpan PositionRefreshInterval { get; set; } = DefaultPositionRefreshInterval;

    /// <summary>The default of <see cref="PositionRefreshInterval"/>: 10 seconds.</summary>
    public static readonly TimeSpan DefaultPositionRefreshInterval = TimeSpan.FromSeconds(10);

    /// <summary>Whether any queue is configured for the host (the monitor then watches Workloads too).</summary>
    internal bool IsEnabled => !string.IsNullOrEmpty(QueueName);
}
