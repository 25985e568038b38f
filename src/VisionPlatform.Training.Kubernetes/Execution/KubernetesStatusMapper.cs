using System.Globalization;
using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Turns a Job and its pods into a <see cref="TrainingRunStatus"/>. Pure, and over the compact records
/// (<see cref="CachedJob"/>, <see cref="CachedPod"/>) that both the monitor's cache and the executor's direct reads hold, so
/// the two paths cannot disagree: a direct read converts the <see cref="V1Job"/> and pods it read once, one way.
/// </summary>
internal static class KubernetesStatusMapper
{
    /// <summary>The trainer contract's exit code for input it rejects (the subprocess executor's <c>InvalidTrainerInput</c>).</summary>
    private const int InvalidInputExitCode = 2;

    /// <summary>Maps a Job and pods read from the API (tests and hand-made objects; the run is given, not read from annotations).</summary>
    public static TrainingRunStatus Map(TrainingRun run, V1Job job, IReadOnlyList<V1Pod> pods, DateTimeOffset now, KubernetesExecutorOptions options) =>
        Map(CachedJob.From(job, run, options.Gpu.ResourceName), pods.Select(CachedPod.Read).OfType<CachedPod>().ToList(), now, options);

    /// <param name="job">The Job.</param>
    /// <param name="pods">Its pods, in any order.</param>
    /// <param name="now">The time, for image pull timeouts.</param>
    /// <param name="options">The executor's options.</param>
    /// <param name="removedAt">When the Job disappeared from the API (the monitor saw it deleted), or null while it exists.</param>
    public static TrainingRunStatus Map(CachedJob job, IReadOnlyList<CachedPod> pods, DateTimeOffset now, KubernetesExecutorOptions options, DateTimeOffset? removedAt = null)
    {
        var ordered = CachedPod.OrderByCreation(pods);
        // An Indexed Job is a group even before its pods are in view: its counters count ranks, not attempts.
        var group = job.GroupSize > 0 || PodGroup.IsGroup(ordered);

        // A group's pods are its ranks, not attempts: its current state speaks through one of them (see PodGroup).
        var current = PodGroup.Representative(ordered);
        var run = job.Run;
        var attempt = group
            ? Math.Max(1, PodGroup.StatusAttempts(ordered))
            : Math.Max(1, Math.Max(ordered.Count, job.Failed + job.Succeeded + job.Active));
        var created = ToOffset(job.Created);
        var started = FirstContainerStart(ordered) ?? ToOffset(job.StartTime);
        // The trainer's last reported exit code: the newest pod may have none (a retry pod the Job controller removed
        // when the Job failed, before its container ran), so look back to the newest attempt that reported one.
        var exitCode = group ? PodGroup.FailedPod(ordered) is { ExitCode: { } groupCode } ? groupCode : LatestExitCode(ordered) : LatestExitCode(ordered);

        TrainingRunStatus Make(TrainingPhase phase, string reason, string? message, DateTimeOffset? finished = null, DateTimeOffset? startedAt = null) => new()
        {
            Run = run,
            Phase = phase,
            Reason = reason,
            Message = message,
            CreatedAt = created,
            StartedAt = startedAt ?? (phase == TrainingPhase.Pending ? null : started),
            FinishedAt = finished,
            // A Job completes only when its pod exited 0, so a Succeeded run's exit code is known even when the pod is
            // not (yet) in view: the monitor's pod watch may lag its Job watch, and the code must not change afterwards.
            ExitCode = phase switch { TrainingPhase.Succeeded => exitCode ?? 0, TrainingPhase.Failed => exitCode, _ => null },
            Attempt = attempt,
        };

        // 1. Success wins: a run that completed before a stop reached it did succeed.
        if ((Condition(job, "Complete") ?? Condition(job, "SuccessCriteriaMet")) is { } complete)
        {
            return Make(TrainingPhase.Succeeded, TrainingStatusReasons.Completed, complete.Message,
                ToOffset(job.CompletionTime) ?? ToOffset(complete.LastTransitionTime), started);
        }

        // 2. A stop recorded on the Job: the controller then fails it (DeadlineExceeded) and removes its pods; it is a stop.
        // Its times come from the Job alone (the stop's, and the Job's start), so the status reads the same before and after
        // the pods that held the container's start time are gone, on every host.
        var jobStarted = ToOffset(job.StartTime);
        if (job.StopRequestedAt is { } stopAt && job.StopReason == TrainingStatusReasons.PreemptionBudgetExhausted)
        {
            // The SDK recorded the spent preemption budget on the Job (and deactivated its Workload): a failure, on every host.
            return Make(TrainingPhase.Failed, TrainingStatusReasons.PreemptionBudgetExhausted,
                KueueStatus.BudgetMessage(job, options), ToOffset(stopAt)) with { StartedAt = jobStarted };
        }

        if (job.StopRequestedAt is { } stopAt2)
        {
            var at = ToOffset(stopAt2);
            return Make(TrainingPhase.Stopped, job.StopReason ?? TrainingStatusReasons.StoppedByUser,
                $"The run was stopped at {at:yyyy-MM-ddTHH:mm:ssZ}: its pods are removed, and its Job is kept until its TTL after it ends.",
                at) with { StartedAt = jobStarted };
        }

        if ((Condition(job, "Failed") ?? Condition(job, "FailureTarget")) is { } failed)
        {
            var (reason, message) = DescribeFailure(failed, current, exitCode, options);
            return Make(TrainingPhase.Failed, reason, message, ToOffset(failed.LastTransitionTime), started);
        }

        // 3. An unfinished Job deleted by someone else (kubectl, a script): it will not run any more.
        if ((ToOffset(job.DeletionTimestamp) ?? removedAt) is { } deletedAt)
        {
            return Make(TrainingPhase.Stopped, TrainingStatusReasons.StoppedByUser, "The run was stopped: its Job was deleted.", deletedAt) with { StartedAt = jobStarted };
        }

        // Kueue: a run preempted more often than allowed fails (before the SDK's record of it lands); a suspended queued
        // Job is Queued, Preempted or Evicted, from its Workload.
        if (KueueStatus.Map(job, options) is { } queued)
        {
            return Make(queued.Phase, queued.Reason, queued.Message, queued.Phase == TrainingPhase.Failed ? now : null);
        }

        if (job.Suspend || Condition(job, "Suspended") is not null)
        {
            return Make(TrainingPhase.Pending, TrainingStatusReasons.Suspended, Condition(job, "Suspended")?.Message ?? "The Job is suspended.");
        }

        // A refusal newer than every pod: the Job controller cannot create the next one (quota, Pod Security, ...).
        if (job.CreateFailure is { } refused && refused.LastSeen > ((ordered.Count > 0 ? ordered[^1].Created : null) ?? DateTime.MinValue))
        {
            var since = ToOffset(refused.FirstSeen)!.Value;
            var message = $"The cluster refuses to create the run's pod: {refused.Message}";
            return now - since > options.PodCreateFailureTimeout
                ? Make(TrainingPhase.Failed, TrainingStatusReasons.FailedCreate, $"{message} (for more than {options.PodCreateFailureTimeout}; the Job keeps retrying until it is stopped)", now, null)
                : Make(TrainingPhase.Pending, TrainingStatusReasons.FailedCreate, message);
        }

        if (current is null)
        {
            return Make(TrainingPhase.Pending, TrainingStatusReasons.Starting, "The Job was created; waiting for the Job controller to create its pod.");
        }

        // A group of more than one node restarts as a whole after a disruption of any of its pods (the group supervisor):
        // Pending until every pod is replaced, with the reason, not a failure.
        if (group && job.GroupSize > 1 && PodGroup.IsRestarting(ordered, out var disrupted))
        {
            var which = disrupted is null
                ? "one of its pods"
                : $"pod {disrupted.Name} (node rank {disrupted.CompletionIndex.ToString(CultureInfo.InvariantCulture)})";
            return Make(TrainingPhase.Pending, TrainingStatusReasons.GroupRestarting,
                $"The group of {job.GroupSize.ToString(CultureInfo.InvariantCulture)} nodes restarts after the disruption of {which}: every pod is replaced, and the new group resumes from the run's newest checkpoint (the failure budget is not used).",
                startedAt: started);
        }

        // A group trains only once every node's pod exists (the controller creates them one by one).
        if (group && job.GroupSize > 0 && PodGroup.Current(ordered).Count < job.GroupSize && current.Phase is "Running")
        {
            return Make(TrainingPhase.Pending, TrainingStatusReasons.Starting,
                $"{PodGroup.Current(ordered).Count} of the {job.GroupSize} pods of the group exist; waiting for the Job controller to create the others.");
        }

        // The newest pod's own attempt number: the Job's counters may already count a retry whose pod is not in view yet.
        // A group's pods are ranks: its attempt is the most pods any one rank has had.
        var podAttempt = group ? Math.Max(1, PodGroup.StatusAttempts(ordered)) : ordered.Count;
        var status = MapActivePod(current, now, options, podAttempt, Make);
        return group && status.Phase == TrainingPhase.Running && current.Phase == "Running"
            ? status with { Message = $"Attempt {podAttempt} is running on {job.GroupSize} nodes (rank 0 in pod {PodGroup.OfRank(ordered, 0)?.Name ?? current.Name})." }
            : status;
    }

    /// <summary>Whether the Job reached a terminal condition (the Job controller is done with it).</summary>
    public static bool IsFinished(V1Job job) =>
        (job.Status?.Conditions ?? []).Any(c => c.Status == "True" && c.Type is "Complete" or "Failed" or "SuccessCriteriaMet" or "FailureTarget");

    /// <summary>Whether a stop is recorded on the Job.</summary>
    public static bool IsStopRequested(V1Job job) =>
        job.Metadata?.Annotations?.ContainsKey(KubernetesLabels.StopRequestedAnnotation) == true;

    /// <summary>Whether the run is over for the SDK: finished, stopped, or its Job is being deleted (no new attempt follows).</summary>
    public static bool IsOver(V1Job job) => IsFinished(job) || IsStopRequested(job) || job.Metadata?.DeletionTimestamp is not null;

    public static IReadOnlyList<V1Pod> OrderByCreation(IEnumerable<V1Pod> pods) =>
        pods.OrderBy(p => p.Metadata?.CreationTimestamp ?? DateTime.MinValue)
            .ThenBy(p => p.Metadata?.Name, StringComparer.Ordinal)
            .ToList();

    public static DateTimeOffset? ToOffset(DateTime? value) => value switch
    {
        null => null,
        { Kind: DateTimeKind.Local } v => new DateTimeOffset(v.ToUniversalTime(), TimeSpan.Zero),
        { } v => new DateTimeOffset(DateTime.SpecifyKind(v, DateTimeKind.Utc), TimeSpan.Zero),
    };

    private static TrainingRunStatus MapActivePod(
        CachedPod pod,
        DateTimeOffset now,
        KubernetesExecutorOptions options,
        int attempt,
        Func<TrainingPhase, string, string?, DateTimeOffset?, DateTimeOffset?, TrainingRunStatus> make)
    {
        var podName = pod.Name;
        switch (pod.Phase)
        {
            case "Running":
                return make(TrainingPhase.Running, TrainingStatusReasons.Running, $"Attempt {attempt} is running in pod {podName}.", null, null);
            case "Succeeded":
                return make(TrainingPhase.Running, TrainingStatusReasons.Running, $"Pod {podName} finished; waiting for the Job to complete.", null, null);
            case "Failed":
                var code = pod.ExitCode;
                return make(TrainingPhase.Pending, TrainingStatusReasons.Starting,
                    $"Attempt {attempt} failed{(code is null ? string.Empty : $" with exit code {code}")} ({pod.TerminatedReason ?? pod.Reason ?? "Error"}); the Job controller decides whether to retry.", null, null);
        }

        if (pod.ScheduledStatus == "False")
        {
            var reason = pod.ScheduledReason == "Unschedulable" ? TrainingStatusReasons.Unschedulable : pod.ScheduledReason ?? TrainingStatusReasons.Unschedulable;
            return make(TrainingPhase.Pending, reason, pod.ScheduledMessage ?? "No node can run the pod yet.", null, null);
        }

        if (pod.WaitingReason is "ErrImagePull" or "ImagePullBackOff")
        {
            var since = ToOffset(pod.ScheduledAt) ?? ToOffset(pod.StartTime) ?? ToOffset(pod.Created) ?? now;
            var message = $"Image {pod.Image} cannot be pulled: {pod.WaitingMessage ?? pod.WaitingReason}";
            return now - since > options.ImagePullBackOffTimeout
                ? make(TrainingPhase.Failed, pod.WaitingReason, $"{message} (for more than {options.ImagePullBackOffTimeout}; the Job keeps retrying until it is stopped)", now, null)
                : make(TrainingPhase.Pending, pod.WaitingReason, message, null, null);
        }

        if (pod.WaitingReason is not null || pod.WaitingMessage is not null)
        {
            var reason = pod.WaitingReason is "ContainerCreating" or "PodInitializing" or null
                ? TrainingStatusReasons.ContainerCreating
                : pod.WaitingReason;
            return make(TrainingPhase.Pending, reason, pod.WaitingMessage ?? $"Container {TrainingJobSpecBuilder.ContainerName} in pod {podName} is being created.", null, null);
        }

        return make(TrainingPhase.Pending, TrainingStatusReasons.ContainerCreating, $"Pod {podName} is starting.", null, null);
    }

    private static (string Reason, string Message) DescribeFailure(CachedCondition failed, CachedPod? current, int? exitCode, KubernetesExecutorOptions options)
    {
        var reason = failed.Reason ?? "Failed";
        var message = failed.Message ?? "The Job failed.";
        var (terminatedReason, terminatedCode) = current?.ExitCode is not null
            ? (current.TerminatedReason, current.ExitCode)
            : (current?.LastTerminatedReason, current?.LastExitCode);
        if (terminatedReason == "OOMKilled")
        {
            return (TrainingStatusReasons.OomKilled, $"{message}. The trainer was killed for exceeding its memory limit (OOMKilled, exit code {terminatedCode}): raise the memory limit or lower the batch size.");
        }

        if (exitCode is { } code)
        {
            var failedJob = reason == TrainingStatusReasons.PodFailurePolicy && options.Job.EffectiveFailJobExitCodes.Contains(code);
            var meaning = failedJob ? " (the trainer rejected its input; it was not retried)" : string.Empty;
            message = $"{message}. Last exit code {code.ToString(CultureInfo.InvariantCulture)}{meaning}.";
            if (failedJob && code == InvalidInputExitCode)
            {
                // The contract's "bad input" exit code gets the reason the subprocess executor gives it, so code that
                // handles a rejected configuration works the same on both executors.
                reason = TrainingStatusReasons.InvalidTrainerInput;
            }
        }

        return (reason, message);
    }

    private static CachedCondition? Condition(CachedJob job, string type) =>
        Array.Find(job.Conditions, c => c.Type == type);

    private static DateTimeOffset? FirstContainerStart(IReadOnlyList<CachedPod> pods)
    {
        foreach (var pod in pods)
        {
            if ((pod.RunningSince ?? pod.TerminatedStartedAt) is { } start)
            {
                return ToOffset(start);
            }
        }

        return null;
    }

    private static int? LatestExitCode(List<CachedPod> ordered)
    {
        for (var i = ordered.Count - 1; i >= 0; i--)
        {
            if ((ordered[i].ExitCode ?? ordered[i].LastExitCode) is { } code)
            {
                return code;
            }
        }

        return null;
    }
}
