using System.Globalization;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// The Kueue part of a status (<see cref="KubernetesStatusMapper"/>): a queued Job that Kueue holds suspended is
/// <see cref="TrainingStatusReasons.Queued"/> until it is first admitted, then <see cref="TrainingStatusReasons.Preempted"/>
/// (or <see cref="TrainingStatusReasons.Evicted"/>) whenever it is suspended again; a run preempted more than
/// <see cref="KubernetesKueueOptions.MaxPreemptions"/> times is <see cref="TrainingStatusReasons.PreemptionBudgetExhausted"/>.
/// Pure: the Workload and the queue position are on the <see cref="CachedJob"/>.
/// </summary>
internal static class KueueStatus
{
    public readonly record struct Outcome(TrainingPhase Phase, string Reason, string Message);

    /// <summary>The run's status from Kueue, or null when Kueue has nothing to say (not queued, or admitted and running).</summary>
    public static Outcome? Map(CachedJob job, KubernetesExecutorOptions options)
    {
        if (job.QueueName is not { } queue)
        {
            return null;
        }

        var workload = job.Workload is { } w && w.IsOf(job) ? w : null;
        if (IsBudgetExhausted(job, options))
        {
            return new(TrainingPhase.Failed, TrainingStatusReasons.PreemptionBudgetExhausted, BudgetMessage(job, options));
        }

        if (!job.Suspend)
        {
            return null;
        }

        var position = job.QueuePosition is { } p ? $"; position {p.ToString(CultureInfo.InvariantCulture)} in queue {queue}" : string.Empty;
        if (workload is null)
        {
            return new(TrainingPhase.Pending, TrainingStatusReasons.Queued, $"Queued in LocalQueue {queue}: waiting for Kueue to admit the run{position}.");
        }

        if (!workload.Active)
        {
            return new(TrainingPhase.Pending, TrainingStatusReasons.Suspended, $"The run's Workload {workload.Name} is deactivated (spec.active is false): Kueue will not admit it until it is reactivated.");
        }

        if (workload.Admitted)
        {
            // Admitted, the Job not resumed yet: the next Job event says Starting.
            return null;
        }

        var waiting = workload.PendingMessage is { Length: > 0 } pending ? pending : "waiting for quota";
        if (workload.Evictions > 0 || workload.EvictedReason is not null)
        {
            var preempted = workload.EvictedReason is { } reason ? reason == KueueApi.PreemptedReason : workload.Preemptions > 0;
            var why = workload.EvictedMessage is { Length: > 0 } evicted ? $" ({evicted})" : string.Empty;
            return preempted
                ? new(TrainingPhase.Pending, TrainingStatusReasons.Preempted,
                    $"The run was preempted{why}: preemption {workload.Preemptions.ToString(CultureInfo.InvariantCulture)} of the {options.Kueue.MaxPreemptions.ToString(CultureInfo.InvariantCulture)} allowed; waiting to be admitted again in queue {queue}: {waiting}{position}.")
                : new(TrainingPhase.Pending, TrainingStatusReasons.Evicted,
                    $"The run was evicted by Kueue ({workload.EvictedReason ?? "evicted"}){why}; waiting to be admitted again in queue {queue}: {waiting}{position}.");
        }

        return new(TrainingPhase.Pending, TrainingStatusReasons.Queued, $"{waiting}{position}");
    }

    /// <summary>Whether the run was preempted more often than allowed (and has not finished otherwise).</summary>
    public static bool IsBudgetExhausted(CachedJob job, KubernetesExecutorOptions options) =>
        job.QueueName is not null && job.Workload is { } w && w.IsOf(job) && w.Preemptions > options.Kueue.MaxPreemptions && !job.IsFinished;

    /// <summary>Whether the spent budget still has to be enforced: not yet recorded on the Job.</summary>
    public static bool NeedsEnforcement(CachedJob job, KubernetesExecutorOptions options) =>
        IsBudgetExhausted(job, options) && job.StopRequestedAt is null && job.DeletionTimestamp is null;

    public static string BudgetMessage(CachedJob job, KubernetesExecutorOptions options)
    {
        var count = job.Workload is { } w && w.IsOf(job) ? w.Preemptions.ToString(CultureInfo.InvariantCulture) : "more";
        var max = options.Kueue.MaxPreemptions.ToString(CultureInfo.InvariantCulture);
        return $"The run was preempted {count} times, more than the {max} allowed (Training:Kubernetes:Kueue:MaxPreemptions): its Workload is deactivated so Kueue does not admit it again, and its Job is kept until its TTL. Start it again with a new job id (or raise the budget).";
    }
}
