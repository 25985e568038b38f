using System.Runtime.CompilerServices;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Kueue;

/// <summary>
/// The order in which workloads were first seen, per cluster store. Creation timestamps have one-second precision, so
/// two Jobs submitted in the same second would otherwise tie; Kueue's in-memory queues keep arrival order, and the
/// controller and the visibility API must agree on it. Holds only workloads that still exist (pruned every pass).
/// </summary>
internal sealed class WorkloadSequence
{
    private static readonly ConditionalWeakTable<ClusterStore, WorkloadSequence> ByStore = [];
    private readonly Dictionary<string, long> _byUid = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private long _next;

    public static WorkloadSequence For(ClusterStore store) => ByStore.GetValue(store, _ => new WorkloadSequence());

    /// <summary>The workload's arrival number, assigning the next one on first sight.</summary>
    public long Of(string uid)
    {
        lock (_gate)
        {
            if (!_byUid.TryGetValue(uid, out var sequence))
            {
                sequence = ++_next;
                _byUid[uid] = sequence;
            }

            return sequence;
        }
    }

    /// <summary>Forgets workloads that are gone, so the table is bounded by the live workloads.</summary>
    public void Retain(IReadOnlySet<string> liveUids)
    {
        lock (_gate)
        {
            foreach (var uid in _byUid.Keys.Where(u => !liveUids.Contains(u)).ToList())
            {
                _byUid.Remove(uid);
            }
        }
    }
}
