namespace VisionPlatform.Training.Kubernetes.TestCluster.Kueue;

/// <summary>
/// The order of a ClusterQueue's pending workloads (both queueing strategies): higher priority first, then older
/// (creation time; the order the controller first saw them breaks ties of the one-second timestamps), then name.
/// </summary>
internal sealed class QueueOrder : IComparer<WorkloadInfo>
{
    public static readonly QueueOrder Instance = new();

    public int Compare(WorkloadInfo? x, WorkloadInfo? y)
    {
        if (ReferenceEquals(x, y))
        {
            return 0;
        }

        if (x is null || y is null)
        {
            return x is null ? -1 : 1;
        }

        var byPriority = y.Priority.CompareTo(x.Priority);
        if (byPriority != 0)
        {
            return byPriority;
        }

        var byTime = x.CreationTime.CompareTo(y.CreationTime);
        if (byTime != 0)
        {
            return byTime;
        }

        var bySequence = x.Sequence.CompareTo(y.Sequence);
        return bySequence != 0 ? bySequence : string.CompareOrdinal(x.Key, y.Key);
    }
}
