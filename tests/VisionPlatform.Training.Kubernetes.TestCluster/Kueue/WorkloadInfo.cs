using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Scheduling;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;
using QuotaUsage = VisionPlatform.Training.Kubernetes.TestCluster.Admission.QuotaUsage;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Kueue;

/// <summary>One pod set of a Workload: its name, pod count and the requests of one pod.</summary>
internal sealed record PodSetRequest(string Name, long Count, IReadOnlyDictionary<string, decimal> PerPod)
{
    /// <summary>The requests of all the set's pods together.</summary>
    public Dictionary<string, decimal> Total() =>
        PerPod.Where(r => r.Value > 0).ToDictionary(r => r.Key, r => r.Value * Count, StringComparer.Ordinal);
}

/// <summary>A stored Workload read once per pass: what queueing and admission look at.</summary>
internal sealed class WorkloadInfo
{
    public WorkloadInfo(JsonObject obj, long sequence)
    {
        Object = obj;
        Sequence = sequence;
        var spec = obj.ObjOrNull("spec");
        QueueName = spec.Str("queueName") ?? "";
        Priority = spec.Long("priority") ?? 0;
        CreationTime = KubeJson.ParseTime(obj.ObjOrNull("metadata")?["creationTimestamp"]) ?? DateTimeOffset.MinValue;
        PodSets = spec.ArrOrNull("podSets").Objects()
            .Select(p => new PodSetRequest(p.Str("name") ?? "main", p.Long("count") ?? 1,
                PodResources.Requests(new JsonObject { ["spec"] = p.ObjOrNull("template").ObjOrNull("spec")?.DeepClone() })))
            .ToList();
    }

    public JsonObject Object { get; }

    public string Namespace => Object.Namespace();

    public string Name => Object.Name();

    public string Uid => Object.Uid();

    public string Key => Namespace + "/" + Name;

    public string QueueName { get; }

    public long Priority { get; }

    public DateTimeOffset CreationTime { get; }

    /// <summary>The order the controller first saw the workload in: breaks ties of the second-precision timestamps.</summary>
    public long Sequence { get; }

    public IReadOnlyList<PodSetRequest> PodSets { get; }

    /// <summary><c>status.admission</c>: quota is reserved for the workload.</summary>
    public JsonObject? Admission => Object.ObjOrNull("status").ObjOrNull("admission");

    public bool HasQuotaReservation => Admission is not null && Object.ConditionIsTrue(KueueNames.QuotaReserved);

    public bool IsFinished => Object.ConditionIsTrue(KueueNames.Finished);

    /// <summary>The owner Job's uid (label, as Kueue sets it), or null for a Workload made by hand.</summary>
    public string? JobUid => Object.Label(KueueNames.JobUidLabel);

    /// <summary>When quota was last reserved: the QuotaReserved condition's transition time.</summary>
    public DateTimeOffset AdmittedAt => KubeJson.ParseTime(Object.Condition(KueueNames.QuotaReserved)?["lastTransitionTime"]) ?? CreationTime;

    /// <summary>The flavor/resource usage recorded in <c>status.admission</c>.</summary>
    public IEnumerable<(string Flavor, string Resource, decimal Amount)> AdmittedUsage()
    {
        foreach (var assignment in Admission.ArrOrNull("podSetAssignments").Objects())
        {
            var flavors = assignment.ObjOrNull("flavors");
            foreach (var (resource, amount) in assignment.ObjOrNull("resourceUsage") ?? [])
            {
                if (flavors.Str(resource) is { } flavor)
                {
                    yield return (flavor, resource, QuotaUsage.Parse(amount));
                }
            }
        }
    }
}
