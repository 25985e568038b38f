using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// What the monitor keeps of a pod: its owner, phase, scheduling condition and the trainer container's state (for
/// Unschedulable, ImagePullBackOff, OOMKilled, exit codes and attempts), nothing else.
/// </summary>
internal sealed class CachedPod
{
    // Times are kept as DateTime with default meaning "none" (8 bytes instead of 16 for a DateTime?): no Kubernetes
    // timestamp is 0001-01-01, and 10,000 cached pods make the difference count.
    private readonly DateTime _created;
    private readonly DateTime _startTime;
    private readonly DateTime _scheduledAt;
    private readonly DateTime _runningSince;
    private readonly DateTime _terminatedStartedAt;
    private readonly DateTime _finishedAt;

    public required string Name { get; init; }

    /// <summary>The controller Job's uid; empty when the pod names none.</summary>
    public Guid OwnerUid { get; init; }

    public DateTime? Created { get => CompactTime.Unpack(_created); init => _created = CompactTime.Pack(value); }

    public string? Phase { get; init; }

    public string? Reason { get; init; }

    public DateTime? StartTime { get => CompactTime.Unpack(_startTime); init => _startTime = CompactTime.Pack(value); }

    public string? ScheduledStatus { get; init; }

    public string? ScheduledReason { get; init; }

    public string? ScheduledMessage { get; init; }

    public DateTime? ScheduledAt { get => CompactTime.Unpack(_scheduledAt); init => _scheduledAt = CompactTime.Pack(value); }

    public string? Image { get; init; }

    public string? WaitingReason { get; init; }

    public string? WaitingMessage { get; init; }

    public DateTime? RunningSince { get => CompactTime.Unpack(_runningSince); init => _runningSince = CompactTime.Pack(value); }

    public int? ExitCode { get; init; }

    public string? TerminatedReason { get; init; }

    public DateTime? TerminatedStartedAt { get => CompactTime.Unpack(_terminatedStartedAt); init => _terminatedStartedAt = CompactTime.Pack(value); }

    /// <summary>When the trainer container's current run ended, or null while it runs.</summary>
    public DateTime? FinishedAt { get => CompactTime.Unpack(_finishedAt); init => _finishedAt = CompactTime.Pack(value); }

    /// <summary>The pod's completion index (the node rank of a distributed job's Indexed Job); -1 for a pod of a Job that is not indexed.</summary>
    public int CompletionIndex { get; init; } = -1;

    public int? LastExitCode { get; init; }

    /// <summary>Whether the pod has the condition <c>DisruptionTarget=True</c> (evicted, drained, preempted).</summary>
    public bool Disrupted { get; init; }

    public string? LastTerminatedReason { get; init; }

    /// <summary>
    /// The trainer container's termination message of its latest end (with <c>FallbackToLogsOnError</c>, the tail of a failed
    /// trainer's log), at most <see cref="MaxTerminationMessageChars"/> characters; null when it has none.
    /// </summary>
    public string? TerminationMessage { get; init; }

    /// <summary>The longest termination message kept (the kubelet caps them at 4,096 bytes).</summary>
    public const int MaxTerminationMessageChars = 4096;

    /// <summary>Whether the trainer container runs now (its log can be followed).</summary>
    public bool IsRunning => Phase == "Running" && RunningSince is not null;

    /// <summary>Whether the trainer container ran and stopped, so its whole log can still be read.</summary>
    public bool HasFinishedLog => Phase is "Succeeded" or "Failed" && TerminatedStartedAt is not null;

    /// <summary>Reads a pod of a Job; <see langword="null"/> when it names no Job.</summary>
    /// <param name="pod">The pod.</param>
    /// <param name="jobName">The Job the pod belongs to (by its controller reference or job-name label); not stored in the record, the cache keys pods by it.</param>
    public static CachedPod? From(V1Pod pod, out string jobName)
    {
        var metadata = pod.Metadata;
        var owner = metadata?.OwnerReferences?.FirstOrDefault(o => o.Controller == true && o.Kind == "Job");
        var labels = metadata?.Labels;
        string? owningJob = owner?.Name;
        if (owningJob is null && labels is not null && !labels.TryGetValue("batch.kubernetes.io/job-name", out owningJob))
        {
            labels.TryGetValue("job-name", out owningJob);
        }

        jobName = owningJob ?? string.Empty;
        return string.IsNullOrEmpty(owningJob) ? null : Read(pod);
    }

    /// <summary>Reads any named pod (the executor's direct reads have already selected the Job's pods).</summary>
    public static CachedPod? Read(V1Pod pod)
    {
        var metadata = pod.Metadata;
        if (metadata?.Name is not { } name)
        {
            return null;
        }

        var owner = metadata.OwnerReferences?.FirstOrDefault(o => o.Controller == true && o.Kind == "Job");
        _ = Guid.TryParse(owner?.Uid, out var ownerUid);
        var scheduled = pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled");
        var trainer = TrainerStatus(pod);
        return new CachedPod
        {
            Name = name,
            OwnerUid = ownerUid,
            Created = metadata.CreationTimestamp,
            Phase = StringPool.Share(pod.Status?.Phase),
            Reason = StringPool.Share(pod.Status?.Reason),
            StartTime = pod.Status?.StartTime,
            ScheduledStatus = StringPool.Share(scheduled?.Status),
            ScheduledReason = StringPool.Share(scheduled?.Reason),
            ScheduledMessage = StringPool.Share(scheduled?.Message),
            ScheduledAt = scheduled?.LastTransitionTime,
            Image = StringPool.Share(trainer?.Image ?? pod.Spec?.Containers?.FirstOrDefault(c => c.Name == TrainingJobSpecBuilder.ContainerName)?.Image),
            WaitingReason = StringPool.Share(trainer?.State?.Waiting?.Reason),
            WaitingMessage = StringPool.Share(trainer?.State?.Waiting?.Message),
            RunningSince = trainer?.State?.Running?.StartedAt,
            ExitCode = trainer?.State?.Terminated?.ExitCode,
            TerminatedReason = StringPool.Share(trainer?.State?.Terminated?.Reason),
            TerminatedStartedAt = trainer?.State?.Terminated?.StartedAt,
            FinishedAt = trainer?.State?.Terminated?.FinishedAt,
            CompletionIndex = ReadCompletionIndex(metadata),
            LastExitCode = trainer?.LastState?.Terminated?.ExitCode,
            Disrupted = pod.Status?.Conditions?.Any(c => c.Type == "DisruptionTarget" && c.Status == "True") == true,
            LastTerminatedReason = StringPool.Share(trainer?.LastState?.Terminated?.Reason),
            TerminationMessage = Bounded(trainer?.State?.Terminated?.Message ?? trainer?.LastState?.Terminated?.Message),
        };
    }

    /// <summary>The completion index label (or annotation) the Job controller sets on the pods of an Indexed Job; -1 without.</summary>
    private static int ReadCompletionIndex(k8s.Models.V1ObjectMeta metadata)
    {
        string? text = null;
        if (metadata.Labels?.TryGetValue(DistributionStep.CompletionIndexKey, out text) != true)
        {
            metadata.Annotations?.TryGetValue(DistributionStep.CompletionIndexKey, out text);
        }

        return int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index) ? index : -1;
    }

    /// <summary>The trainer container's status (or the first container's, for a pod made by hand).</summary>
    public static V1ContainerStatus? TrainerStatus(V1Pod pod) =>
        pod.Status?.ContainerStatuses?.FirstOrDefault(c => c.Name == TrainingJobSpecBuilder.ContainerName)
        ?? pod.Status?.ContainerStatuses?.FirstOrDefault();

    /// <summary>Pods oldest first (by creation, then name): the last one is the current attempt.</summary>
    public static List<CachedPod> OrderByCreation(IEnumerable<CachedPod> pods) =>
        pods.OrderBy(p => p.Created ?? DateTime.MinValue).ThenBy(p => p.Name, StringComparer.Ordinal).ToList();

    private static string? Bounded(string? message)
    {
        message = message?.Trim();
        return string.IsNullOrEmpty(message) ? null
            : message.Length <= MaxTerminationMessageChars ? message
            : string.Concat("…", message.AsSpan(message.Length - MaxTerminationMessageChars + 1));
    }
}
