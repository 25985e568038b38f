using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;
using QuotaUsage = VisionPlatform.Training.Kubernetes.TestCluster.Admission.QuotaUsage;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Kueue;

/// <summary>
/// The status Kueue keeps on its queues: workload counts, the quota in use per flavor and resource, and the Active
/// condition (a ClusterQueue is inactive while a flavor it names does not exist; a LocalQueue while its ClusterQueue
/// does not).
/// </summary>
internal sealed class QueueStatusWriter(ClusterStore store, TimeProvider time)
{
    public void Write(KueueSnapshot snapshot)
    {
        foreach (var queue in snapshot.ClusterQueues.Values)
        {
            WriteClusterQueue(queue, snapshot);
        }

        foreach (var localQueue in snapshot.LocalQueues.Values)
        {
            WriteLocalQueue(localQueue, snapshot);
        }
    }

    private void WriteClusterQueue(ClusterQueueInfo queue, KueueSnapshot snapshot)
    {
        var admitted = snapshot.Admitted[queue.Name];
        var ledger = new QuotaLedger();
        admitted.ForEach(w => ledger.Add(w));
        var usage = new JsonArray();
        foreach (var flavor in queue.Groups.SelectMany(g => g.Flavors.Select(f => (Flavor: f, g.CoveredResources))))
        {
            usage.Add(new JsonObject
            {
                ["name"] = flavor.Flavor.Name,
                ["resources"] = new JsonArray(flavor.CoveredResources.Select(r => (JsonNode)new JsonObject
                {
                    ["name"] = r,
                    ["total"] = QuotaUsage.Format(r, ledger.Used(flavor.Flavor.Name, r)),
                    ["borrowed"] = "0",
                }).ToArray()),
            });
        }

        var missing = queue.MissingFlavors(snapshot.Flavors);
        ObjectWriter.Update(store, ResourceType.ClusterQueues, queue.Object, q =>
        {
            var status = q.Obj("status");
            status["pendingWorkloads"] = snapshot.Pending[queue.Name].Count;
            status["reservingWorkloads"] = admitted.Count;
            status["admittedWorkloads"] = admitted.Count;
            status["flavorsReservation"] = usage.DeepClone();
            status["flavorsUsage"] = usage.DeepClone();
            if (missing.Count == 0)
            {
                Conditions.Set(q, "Active", "True", "Ready", "Can admit new workloads", time.GetUtcNow());
            }
            else
            {
                Conditions.Set(q, "Active", "False", "FlavorNotFound",
                    $"Can't admit new workloads: references missing ResourceFlavor(s): [{string.Join(" ", missing)}].", time.GetUtcNow());
            }
        });
    }

    private void WriteLocalQueue(JsonObject localQueue, KueueSnapshot snapshot)
    {
        var ns = localQueue.Namespace();
        var name = localQueue.Name();
        var queueName = localQueue.ObjOrNull("spec").Str("clusterQueue") ?? "";
        bool Mine(WorkloadInfo w) => w.Namespace == ns && w.QueueName == name;
        var pending = snapshot.Pending.GetValueOrDefault(queueName)?.Count(Mine) ?? 0;
        var admitted = snapshot.Admitted.Values.SelectMany(a => a).Where(Mine).ToList();
        var ledger = new QuotaLedger();
        admitted.ForEach(w => ledger.Add(w));
        var usage = new JsonArray();
        if (snapshot.ClusterQueues.TryGetValue(queueName, out var clusterQueue))
        {
            foreach (var flavor in clusterQueue.Groups.SelectMany(g => g.Flavors.Select(f => (Flavor: f, g.CoveredResources))))
            {
                usage.Add(new JsonObject
                {
                    ["name"] = flavor.Flavor.Name,
                    ["resources"] = new JsonArray(flavor.CoveredResources.Select(r => (JsonNode)new JsonObject
                    {
                        ["name"] = r,
                        ["total"] = QuotaUsage.Format(r, ledger.Used(flavor.Flavor.Name, r)),
                    }).ToArray()),
                });
            }
        }

        ObjectWriter.Update(store, ResourceType.LocalQueues, localQueue, q =>
        {
            var status = q.Obj("status");
            status["pendingWorkloads"] = pending;
            status["reservingWorkloads"] = admitted.Count;
            status["admittedWorkloads"] = admitted.Count;
            status["flavorsReservation"] = usage.DeepClone();
            status["flavorUsage"] = usage.DeepClone();
            if (clusterQueue is not null)
            {
                Conditions.Set(q, "Active", "True", "Ready", "Can submit new workloads to localQueue", time.GetUtcNow());
            }
            else
            {
                Conditions.Set(q, "Active", "False", "ClusterQueueDoesNotExist", "Can't submit new workloads to clusterQueue", time.GetUtcNow());
            }
        });
    }
}
