using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Kueue;

/// <summary>The names Kueue's API defines (kueue.x-k8s.io/v1beta1): groups, labels, condition types and reasons.</summary>
internal static class KueueNames
{
    /// <summary>The API group of Kueue's objects.</summary>
    public const string Group = "kueue.x-k8s.io";

    /// <summary>The aggregated visibility API's group.</summary>
    public const string VisibilityGroup = "visibility.kueue.x-k8s.io";

    /// <summary>The Job label naming the LocalQueue (the Job is managed by Kueue when it is set).</summary>
    public const string QueueLabel = "kueue.x-k8s.io/queue-name";

    /// <summary>The Job (and Workload) label naming the WorkloadPriorityClass.</summary>
    public const string PriorityClassLabel = "kueue.x-k8s.io/priority-class";

    /// <summary>The Workload label holding the owner Job's uid.</summary>
    public const string JobUidLabel = "kueue.x-k8s.io/job-uid";

    /// <summary><c>spec.priorityClassSource</c> for a priority taken from a WorkloadPriorityClass.</summary>
    public const string WorkloadPriorityClassSource = "kueue.x-k8s.io/workloadpriorityclass";

    /// <summary>Quota is reserved in a ClusterQueue (<c>status.admission</c> set).</summary>
    public const string QuotaReserved = "QuotaReserved";

    /// <summary>Quota is reserved and every admission check passed (none are simulated, so together with QuotaReserved).</summary>
    public const string Admitted = "Admitted";

    /// <summary>The owner Job finished.</summary>
    public const string Finished = "Finished";

    /// <summary>The workload was evicted (its quota released, its Job stopped).</summary>
    public const string Evicted = "Evicted";

    /// <summary>The workload was preempted (with <see cref="Evicted"/>).</summary>
    public const string Preempted = "Preempted";

    /// <summary>The <c>Pending</c> reason of QuotaReserved=False while the workload waits.</summary>
    public const string PendingReason = "Pending";

    /// <summary>The <c>Inadmissible</c> reason of QuotaReserved=False (missing queue, inactive ClusterQueue, ...).</summary>
    public const string InadmissibleReason = "Inadmissible";

    /// <summary>The event source Kueue's controllers use.</summary>
    public const string EventComponent = "kueue-admission";

    /// <summary>Kueue's CRDs with a status subresource.</summary>
    public static bool HasStatus(ResourceType type) =>
        type == ResourceType.ClusterQueues || type == ResourceType.LocalQueues || type == ResourceType.Workloads;
}
