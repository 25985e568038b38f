using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Kueue;

/// <summary>
/// Kueue's view of the cluster at one moment (its cache and queue manager): queues, flavors, priority classes and every
/// workload sorted into admitted (quota reserved, not finished), pending per ClusterQueue in queue order, and
/// inadmissible with the reason. The controller and the visibility API both read through it.
/// </summary>
internal sealed class KueueSnapshot
{
    private KueueSnapshot()
    {
    }

    public Dictionary<string, JsonObject> Flavors { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, JsonObject> PriorityClasses { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, ClusterQueueInfo> ClusterQueues { get; } = new(StringComparer.Ordinal);

    /// <summary>LocalQueues by <c>namespace/name</c>.</summary>
    public Dictionary<string, JsonObject> LocalQueues { get; } = new(StringComparer.Ordinal);

    public List<WorkloadInfo> Workloads { get; } = [];

    /// <summary>Admitted, unfinished workloads per ClusterQueue name.</summary>
    public Dictionary<string, List<WorkloadInfo>> Admitted { get; } = new(StringComparer.Ordinal);

    /// <summary>Pending workloads per ClusterQueue name, in queue order.</summary>
    public Dictionary<string, List<WorkloadInfo>> Pending { get; } = new(StringComparer.Ordinal);

    /// <summary>Workloads that cannot be queued, with Kueue's message.</summary>
    public List<(WorkloadInfo Workload, string Message)> Inadmissible { get; } = [];

    public static KueueSnapshot Read(ClusterStore store)
    {
        var snapshot = new KueueSnapshot();
        var sequence = WorkloadSequence.For(store);
        foreach (var flavor in store.List(ResourceType.ResourceFlavors, null).Items)
        {
            snapshot.Flavors[flavor.Name()] = flavor;
        }

        foreach (var priorityClass in store.List(ResourceType.WorkloadPriorityClasses, null).Items)
        {
            snapshot.PriorityClasses[priorityClass.Name()] = priorityClass;
        }

        foreach (var queue in store.List(ResourceType.ClusterQueues, null).Items)
        {
            snapshot.ClusterQueues[queue.Name()] = new ClusterQueueInfo(queue);
            snapshot.Admitted[queue.Name()] = [];
            snapshot.Pending[queue.Name()] = [];
        }

        foreach (var queue in store.List(ResourceType.LocalQueues, null).Items)
        {
            snapshot.LocalQueues[queue.Namespace() + "/" + queue.Name()] = queue;
        }

        var namespaces = store.List(ResourceType.Namespaces, null).Items.ToDictionary(n => n.Name(), StringComparer.Ordinal);
        // Kueue's queues keep arrival order: number workloads first seen together by creation time, then name
        var workloads = store.List(ResourceType.Workloads, null).Items
            .OrderBy(w => KubeJson.ParseTime(w.ObjOrNull("metadata")?["creationTimestamp"]))
            .ThenBy(w => w.Namespace() + "/" + w.Name(), StringComparer.Ordinal);
        foreach (var obj in workloads)
        {
            snapshot.Workloads.Add(new WorkloadInfo(obj, sequence.Of(obj.Uid())));
        }

        sequence.Retain(snapshot.Workloads.Select(w => w.Uid).ToHashSet(StringComparer.Ordinal));
        foreach (var workload in snapshot.Workloads)
        {
            snapshot.Classify(workload, namespaces);
        }

        foreach (var pending in snapshot.Pending.Values)
        {
            pending.Sort(QueueOrder.Instance);
        }

        return snapshot;
    }

    /// <summary>The ClusterQueue a workload's LocalQueue points at (whether or not it exists), or null without a LocalQueue.</summary>
    public string? ClusterQueueOf(WorkloadInfo workload) =>
        workload.Admission.Str("clusterQueue")
        ?? LocalQueues.GetValueOrDefault(workload.Namespace + "/" + workload.QueueName).ObjOrNull("spec").Str("clusterQueue");

    private void Classify(WorkloadInfo workload, Dictionary<string, JsonObject> namespaces)
    {
        if (workload.IsFinished || workload.Object.HasDeletionTimestamp() || workload.Object.ObjOrNull("spec").Bool("active") == false)
        {
            return;
        }

        if (workload.HasQuotaReservation)
        {
            if (Admitted.TryGetValue(workload.Admission.Str("clusterQueue") ?? "", out var admitted))
            {
                admitted.Add(workload);
            }

            return;
        }

        var message = InadmissibleMessage(workload, namespaces, out var queue);
        if (message is not null)
        {
            Inadmissible.Add((workload, message));
        }
        else
        {
            Pending[queue!.Name].Add(workload);
        }
    }

    private string? InadmissibleMessage(WorkloadInfo workload, Dictionary<string, JsonObject> namespaces, out ClusterQueueInfo? queue)
    {
        queue = null;
        if (!LocalQueues.TryGetValue(workload.Namespace + "/" + workload.QueueName, out var localQueue))
        {
            return $"LocalQueue {workload.QueueName} doesn't exist";
        }

        var queueName = localQueue.ObjOrNull("spec").Str("clusterQueue") ?? "";
        if (!ClusterQueues.TryGetValue(queueName, out queue))
        {
            return $"ClusterQueue {queueName} doesn't exist";
        }

        var spec = workload.Object.ObjOrNull("spec");
        if (spec.Str("priorityClassSource") == KueueNames.WorkloadPriorityClassSource && spec.Long("priority") is null
            && spec.Str("priorityClassName") is { } className && !PriorityClasses.ContainsKey(className))
        {
            return $"workloadpriorityclasses.kueue.x-k8s.io \"{className}\" not found";
        }

        if (queue.MissingFlavors(Flavors).Count > 0)
        {
            return $"ClusterQueue {queueName} is inactive";
        }

        return queue.SelectsNamespace(namespaces.GetValueOrDefault(workload.Namespace))
            ? null
            : "Workload namespace doesn't match ClusterQueue selector";
    }
}
