using System.Globalization;
using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Turns a Job and its pods into a <see cref="TrainingRunStatus"/>. Pure: everything it needs is passed in, so every
/// mapping can be tested with hand-made objects as well as against a cluster.
/// </summary>
internal static class KubernetesStatusMapper
{
    /// <summary>The trainer contract's exit code for input it rejects (the subprocess executor's <c>InvalidTrainerInput</c>).</summary>
    private const int InvalidInputExitCode = 2;

    public static TrainingRunStatus Map(
        TrainingRun run,
        V1Job job,
        IReadOnlyList<V1Pod> pods,
        DateTimeOffset now,
        KubernetesExecutorOptions options,
        DateTimeOffset? stoppedAt = null)
    {
        var ordered = OrderByCreation(pods);
        var current = ordered.Count > 0 ? ordered[^1] : null;
        var status = job.Status;
        var attempt = Math.Max(1, Math.Max(ordered.Count, (status?.Failed ?? 0) + (status?.Succeeded ?? 0) + (status?.Active ?? 0)));
        var created = ToOffset(job.Metadata?.CreationTimestamp);
        var started = FirstContainerStart(ordered) ?? ToOffset(status?.StartTime);
        var trainer = current is null ? null : TrainerStatus(current);
        var exitCode = trainer?.State?.Terminated?.ExitCode ?? trainer?.LastState?.Terminated?.ExitCode;

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

        if (job.Metadata?.DeletionTimestamp is not null || stoppedAt is not null)
        {
            return Make(TrainingPhase.Stopped, TrainingStatusReasons.StoppedByUser, "The run was stopped: its Job was deleted.",
                stoppedAt ?? ToOffset(job.Metadata?.DeletionTimestamp), started);
        }

        var conditions = status?.Conditions ?? [];
        if ((Condition(conditions, "Complete") ?? Condition(conditions, "SuccessCriteriaMet")) is { } complete)
        {
            return Make(TrainingPhase.Succeeded, TrainingStatusReasons.Completed, complete.Message,
                ToOffset(status?.CompletionTime) ?? ToOffset(complete.LastTransitionTime), started);
        }

        if ((Condition(conditions, "Failed") ?? Condition(conditions, "FailureTarget")) is { } failed)
        {
            var (reason, message) = DescribeFailure(failed, trainer, exitCode, options);
            return Make(TrainingPhase.Failed, reason, message, ToOffset(failed.LastTransitionTime), started);
        }

        if (job.Spec?.Suspend == true || Condition(conditions, "Suspended") is not null)
        {
            return Make(TrainingPhase.Pending, TrainingStatusReasons.Suspended, Condition(conditions, "Suspended")?.Message ?? "The Job is suspended.");
        }

        if (current is null)
        {
            return Make(TrainingPhase.Pending, TrainingStatusReasons.Starting, "The Job was created; waiting for the Job controller to create its pod.");
        }

        return MapActivePod(current, trainer, now, options, attempt, Make);
    }

    private static TrainingRunStatus MapActivePod(
        V1Pod pod,
        V1ContainerStatus? trainer,
        DateTimeOffset now,
        KubernetesExecutorOptions options,
        int attempt,
        Func<TrainingPhase, string, string?, DateTimeOffset?, DateTimeOffset?, TrainingRunStatus> make)
    {
        var podName = pod.Metadata?.Name;
        switch (pod.Status?.Phase)
        {
            case "Running":
                return make(TrainingPhase.Running, TrainingStatusReasons.Running, $"Attempt {attempt} is running in pod {podName}.", null, null);
            case "Succeeded":
                return make(TrainingPhase.Running, TrainingStatusReasons.Running, $"Pod {podName} finished; waiting for the Job to complete.", null, null);
            case "Failed":
                var code = trainer?.State?.Terminated?.ExitCode;
                return make(TrainingPhase.Pending, TrainingStatusReasons.Starting,
                    $"Attempt {attempt} failed{(code is null ? string.Empty : $" with exit code {code}")} ({trainer?.State?.Terminated?.Reason ?? pod.Status?.Reason ?? "Error"}); the Job controller decides whether to retry.", null, null);
        }

        var scheduled = pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled");
        if (scheduled is { Status: "False" })
        {
            var reason = scheduled.Reason == "Unschedulable" ? TrainingStatusReasons.Unschedulable : scheduled.Reason ?? TrainingStatusReasons.Unschedulable;
            return make(TrainingPhase.Pending, reason, scheduled.Message ?? "No node can run the pod yet.", null, null);
        }

        var waiting = trainer?.State?.Waiting;
        if (waiting?.Reason is "ErrImagePull" or "ImagePullBackOff")
        {
            var image = trainer?.Image ?? pod.Spec?.Containers?.FirstOrDefault(c => c.Name == TrainingJobSpecBuilder.ContainerName)?.Image;
            var since = ToOffset(scheduled?.LastTransitionTime) ?? ToOffset(pod.Status?.StartTime) ?? ToOffset(pod.Metadata?.CreationTimestamp) ?? now;
            var message = $"Image {image} cannot be pulled: {waiting.Message ?? waiting.Reason}";
            return now - since > options.ImagePullBackOffTimeout
                ? make(TrainingPhase.Failed, waiting.Reason, $"{message} (for more than {options.ImagePullBackOffTimeout}; the Job keeps retrying until it is stopped)", now, null)
                : make(TrainingPhase.Pending, waiting.Reason, message, null, null);
        }

        if (waiting is not null)
        {
            var reason = waiting.Reason is "ContainerCreating" or "PodInitializing" or null
                ? TrainingStatusReasons.ContainerCreating
                : waiting.Reason;
            return make(TrainingPhase.Pending, reason, waiting.Message ?? $"Container {TrainingJobSpecBuilder.ContainerName} in pod {podName} is being created.", null, null);
        }

        return make(TrainingPhase.Pending, TrainingStatusReasons.ContainerCreating, $"Pod {podName} is starting.", null, null);
    }

    private static (string Reason, string Message) DescribeFailure(V1JobCondition failed, V1ContainerStatus? trainer, int? exitCode, KubernetesExecutorOptions options)
    {
        var terminated = trainer?.State?.Terminated ?? trainer?.LastState?.Terminated;
        var reason = failed.Reason ?? "Failed";
        var message = failed.Message ?? "The Job failed.";
        if (terminated?.Reason == "OOMKilled")
        {
            return (TrainingStatusReasons.OomKilled, $"{message}. The trainer was killed for exceeding its memory limit (OOMKilled, exit code {terminated.ExitCode}): raise the memory limit or lower the batch size.");
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

    public static IReadOnlyList<V1Pod> OrderByCreation(IEnumerable<V1Pod> pods) =>
        pods.OrderBy(p => p.Metadata?.CreationTimestamp ?? DateTime.MinValue)
            .ThenBy(p => p.Metadata?.Name, StringComparer.Ordinal)
            .ToList();

    public static V1ContainerStatus? TrainerStatus(V1Pod pod) =>
        pod.Status?.ContainerStatuses?.FirstOrDefault(c => c.Name == TrainingJobSpecBuilder.ContainerName)
        ?? pod.Status?.ContainerStatuses?.FirstOrDefault();

    /// <summary>Whether the Job reached a terminal condition (or is being deleted).</summary>
    public static bool IsFinished(V1Job job) =>
        job.Metadata?.DeletionTimestamp is not null ||
        (job.Status?.Conditions ?? []).Any(c => c.Status == "True" && c.Type is "Complete" or "Failed" or "SuccessCriteriaMet" or "FailureTarget");

    private static V1JobCondition? Condition(IList<V1JobCondition> conditions, string type) =>
        conditions.FirstOrDefault(c => c.Type == type && c.Status == "True");

    private static DateTimeOffset? FirstContainerStart(IReadOnlyList<V1Pod> pods) =>
        pods.Select(TrainerStatus)
            .Select(s => s?.State?.Running?.StartedAt ?? s?.State?.Terminated?.StartedAt)
            .Where(t => t is not null)
            .Select(ToOffset)
            .FirstOrDefault();

    public static DateTimeOffset? ToOffset(DateTime? value) => value switch
    {
        null => null,
        { Kind: DateTimeKind.Local } v => new DateTimeOffset(v.ToUniversalTime(), TimeSpan.Zero),
        { } v => new DateTimeOffset(DateTime.SpecifyKind(v, DateTimeKind.Utc), TimeSpan.Zero),
    };
}
