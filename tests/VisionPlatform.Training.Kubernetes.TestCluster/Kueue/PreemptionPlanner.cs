using System.Text.Json.Nodes;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Kueue;

/// <summary>
/// Preemption within a ClusterQueue: which admitted workloads to evict so that a pending one fits. Candidates are the
/// ones the queue's <c>withinClusterQueue</c> policy allows (lower priority; with LowerOrNewerEqualPriority also equal
/// priority and queued after the preemptor), taken lowest priority first, then most recently admitted, until the
/// preemptor fits; then any that turn out not to be needed are given back, as Kueue keeps the set minimal.
/// </summary>
internal static class PreemptionPlanner
{
    public static IReadOnlyList<WorkloadInfo> Victims(
        ClusterQueueInfo queue, QuotaLedger ledger, WorkloadInfo preemptor, IEnumerable<WorkloadInfo> admitted, IReadOnlyDictionary<string, JsonObject> flavors)
    {
        if (queue.WithinClusterQueue is not ("LowerPriority" or "LowerOrNewerEqualPriority"))
        {
            return [];
        }

        var candidates = admitted
            .Where(c => c.Priority < preemptor.Priority
                || (queue.WithinClusterQueue == "LowerOrNewerEqualPriority" && c.Priority == preemptor.Priority && QueueOrder.Instance.Compare(preemptor, c) < 0))
            .OrderBy(c => c.Priority)
            .ThenByDescending(c => c.AdmittedAt)
            .ThenByDescending(c => c.Sequence)
            .ToList();
        var trial = ledger.Copy();
        var removed = new List<WorkloadInfo>();
        var fits = false;
        foreach (var candidate in candidates)
        {
            trial.Add(candidate, -1);
            removed.Add(candidate);
            if (FlavorAssigner.Assign(queue, trial, preemptor, flavors).Fits)
            {
                fits = true;
                break;
            }
        }

        if (!fits)
        {
            return [];
        }

        for (var i = removed.Count - 1; i >= 0; i--)
        {
            trial.Add(removed[i]);
            if (FlavorAssigner.Assign(queue, trial, preemptor, flavors).Fits)
            {
                removed.RemoveAt(i);
            }
            else
            {
                trial.Add(removed[i], -1);
            }
        }

        return removed;
    }
}
