namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Reads the pods of a Job as attempts. A Job of one pod per attempt: the newest pod is the current attempt. A distributed
/// job's Indexed Job has one pod per node at a time, told apart by their completion index (the node rank): the current
/// attempt is the newest pod of each index, and rank 0's pod is the one that prints progress.
/// </summary>
internal static class PodGroup
{
    /// <summary>Whether the pods are ranks of an Indexed Job.</summary>
    public static bool IsGroup(IReadOnlyList<CachedPod> pods)
    {
        foreach (var pod in pods)
        {
            if (pod.CompletionIndex >= 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The newest pod of each index, by index (pods oldest first in, as <see cref="CachedPod.OrderByCreation"/> orders them).</summary>
    public static List<CachedPod> Current(IReadOnlyList<CachedPod> ordered)
    {
        var newest = new SortedDictionary<int, CachedPod>();
        foreach (var pod in ordered)
        {
            newest[pod.CompletionIndex] = pod;
        }

        return [.. newest.Values];
    }

    /// <summary>
    /// How many attempts the pods show: pods per index for a group (a rank replaced after a disruption), else pods. The
    /// pod generation that log lines and archived logs carry (every pod of a rank counts).
    /// </summary>
    public static int Attempts(IReadOnlyList<CachedPod> ordered) => Attempts(ordered, countGroupRestarts: true);

    /// <summary>
    /// The run's attempt as its status reports it: <see cref="Attempts(IReadOnlyList{CachedPod})"/> without the pods that
    /// left for a whole-group restart (<see cref="DistributionStep.GroupRestartExitCode"/>): like a disruption, such a
    /// restart uses no failure budget.
    /// </summary>
    public static int StatusAttempts(IReadOnlyList<CachedPod> ordered) => Attempts(ordered, countGroupRestarts: false);

    private static int Attempts(IReadOnlyList<CachedPod> ordered, bool countGroupRestarts)
    {
        if (!IsGroup(ordered))
        {
            return ordered.Count;
        }

        var counts = new Dictionary<int, int>();
        var most = 0;
        foreach (var pod in ordered)
        {
            if (!countGroupRestarts && pod.ExitCode == DistributionStep.GroupRestartExitCode)
            {
                continue;
            }

            counts[pod.CompletionIndex] = counts.GetValueOrDefault(pod.CompletionIndex) + 1;
            most = Math.Max(most, counts[pod.CompletionIndex]);
        }

        return most;
    }

    /// <summary>
    /// Whether the group restarts as a whole: one of its current pods was disrupted or left with
    /// <see cref="DistributionStep.GroupRestartExitCode"/> (the group supervisor). <paramref name="disrupted"/> is the
    /// disrupted pod while it is in view (an evicted pod is deleted once it ended).
    /// </summary>
    public static bool IsRestarting(IReadOnlyList<CachedPod> ordered, out CachedPod? disrupted)
    {
        disrupted = null;
        var restarting = false;
        foreach (var pod in Current(ordered))
        {
            if (pod.Disrupted)
            {
                disrupted = pod;
                restarting = true;
            }
            else if (pod.ExitCode == DistributionStep.GroupRestartExitCode)
            {
                restarting = true;
            }
        }

        return restarting;
    }

    /// <summary>The newest pod of node rank <paramref name="rank"/> (any pod's newest when the Job is not indexed and the rank is 0).</summary>
    public static CachedPod? OfRank(IReadOnlyList<CachedPod> ordered, int rank)
    {
        if (!IsGroup(ordered))
        {
            return rank == 0 && ordered.Count > 0 ? ordered[^1] : null;
        }

        for (var i = ordered.Count - 1; i >= 0; i--)
        {
            if (ordered[i].CompletionIndex == rank)
            {
                return ordered[i];
            }
        }

        return null;
    }

    /// <summary>
    /// The pod that speaks for the run's state: for a group, a failed rank first (the one that failed first), then one
    /// that is not running yet (the group waits for it: unschedulable, pulling), else rank 0; otherwise the newest pod.
    /// </summary>
    public static CachedPod? Representative(IReadOnlyList<CachedPod> ordered)
    {
        if (!IsGroup(ordered))
        {
            return ordered.Count > 0 ? ordered[^1] : null;
        }

        var current = Current(ordered);
        return FirstFailed(current)
            ?? current.Find(p => p.Phase is not ("Running" or "Succeeded"))
            ?? current.Find(p => p.CompletionIndex == 0)
            ?? (current.Count > 0 ? current[0] : null);
    }

    /// <summary>The pod whose log explains a failure: for a group the rank whose trainer failed first, else the newest pod.</summary>
    public static CachedPod? FailedPod(IReadOnlyList<CachedPod> ordered) =>
        IsGroup(ordered) ? FirstFailed(Current(ordered)) ?? Representative(ordered) : (ordered.Count > 0 ? ordered[^1] : null);

    /// <summary>
    /// The rank whose trainer exited non-zero first. Its peers end after it (the Job controller terminates them once the
    /// failure policy failed the Job, and torchrun exits 1 on SIGTERM too), so the earliest finish is the cause.
    /// </summary>
    private static CachedPod? FirstFailed(List<CachedPod> current)
    {
        CachedPod? first = null;
        foreach (var pod in current)
        {
            if (pod.ExitCode is null or 0)
            {
                continue;
            }

            if (first is null || (pod.FinishedAt ?? DateTime.MaxValue) < (first.FinishedAt ?? DateTime.MaxValue))
            {
                first = pod;
            }
        }

        return first;
    }
}
