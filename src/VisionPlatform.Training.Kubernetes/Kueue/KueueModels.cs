using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>Kueue's API coordinates (<c>kueue.x-k8s.io/v1beta1</c>, and the visibility API).</summary>
internal static class KueueApi
{
    public const string Group = "kueue.x-k8s.io";
    public const string Version = "v1beta1";
    public const string WorkloadsPlural = "workloads";
    public const string LocalQueuesPlural = "localqueues";
    public const string VisibilityGroup = "visibility.kueue.x-k8s.io";

    /// <summary>The visibility API versions, newest first: v1beta2 is asked first, v1beta1 on 404.</summary>
    public static readonly string[] VisibilityVersions = ["v1beta2", "v1beta1"];

    /// <summary>The eviction reason Kueue gives a preemption (Workload <c>Evicted</c> condition and <c>schedulingStats.evictions[].reason</c>).</summary>
    public const string PreemptedReason = "Preempted";
}

/// <summary>A Kueue LocalQueue (only what the cluster set-up sets: the ClusterQueue it feeds).</summary>
internal sealed class KueueLocalQueue : IKubernetesObject<V1ObjectMeta>
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = $"{KueueApi.Group}/{KueueApi.Version}";

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = "LocalQueue";

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public KueueLocalQueueSpec? Spec { get; set; }
}

/// <summary>A LocalQueue's spec.</summary>
internal sealed class KueueLocalQueueSpec
{
    [JsonPropertyName("clusterQueue")]
    public string? ClusterQueue { get; set; }
}

/// <summary>A Kueue Workload: only the fields the SDK reads (queue, active, conditions, eviction counts).</summary>
internal sealed class KueueWorkload : IKubernetesObject<V1ObjectMeta>
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = $"{KueueApi.Group}/{KueueApi.Version}";

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = "Workload";

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public KueueWorkloadSpec? Spec { get; set; }

    [JsonPropertyName("status")]
    public KueueWorkloadStatus? Status { get; set; }
}

/// <summary>A Workload's spec (the fields the SDK reads).</summary>
internal sealed class KueueWorkloadSpec
{
    [JsonPropertyName("queueName")]
    public string? QueueName { get; set; }

    [JsonPropertyName("active")]
    public bool? Active { get; set; }
}

/// <summary>A Workload's status (the fields the SDK reads).</summary>
internal sealed class KueueWorkloadStatus
{
    [JsonPropertyName("conditions")]
    public IList<V1Condition>? Conditions { get; set; }

    [JsonPropertyName("schedulingStats")]
    public KueueSchedulingStats? SchedulingStats { get; set; }
}

/// <summary><c>status.schedulingStats</c>.</summary>
internal sealed class KueueSchedulingStats
{
    [JsonPropertyName("evictions")]
    public IList<KueueEvictionStats>? Evictions { get; set; }
}

/// <summary>One <c>status.schedulingStats.evictions[]</c> entry: evictions counted by reason and underlying cause.</summary>
internal sealed class KueueEvictionStats
{
    [JsonPropertyName("reason")]
    public string? Reason { get; set; }

    [JsonPropertyName("underlyingCause")]
    public string? UnderlyingCause { get; set; }

    [JsonPropertyName("count")]
    public int Count { get; set; }
}

/// <summary>A list of Workloads.</summary>
internal sealed class KueueWorkloadList : IKubernetesObject<V1ListMeta>, IItems<KueueWorkload>
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = $"{KueueApi.Group}/{KueueApi.Version}";

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = "WorkloadList";

    [JsonPropertyName("metadata")]
    public V1ListMeta Metadata { get; set; } = new();

    [JsonPropertyName("items")]
    public IList<KueueWorkload> Items { get; set; } = [];
}

/// <summary>The visibility API's answer for a LocalQueue (<c>pendingworkloads</c> subresource).</summary>
internal sealed class KueuePendingWorkloadsSummary
{
    [JsonPropertyName("items")]
    public IList<KueuePendingWorkload>? Items { get; set; }
}

/// <summary>One pending workload with its positions (0 is the next to be admitted).</summary>
internal sealed class KueuePendingWorkload
{
    [JsonPropertyName("metadata")]
    public V1ObjectMeta? Metadata { get; set; }

    [JsonPropertyName("localQueueName")]
    public string? LocalQueueName { get; set; }

    [JsonPropertyName("positionInClusterQueue")]
    public int? PositionInClusterQueue { get; set; }

    [JsonPropertyName("positionInLocalQueue")]
    public int? PositionInLocalQueue { get; set; }
}
