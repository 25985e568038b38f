using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// What the SDK keeps of a Job: only the fields <see cref="KubernetesStatusMapper"/>, cost and list queries read, so
/// 10,000 runs in the monitor's cache fit in a few megabytes instead of the hundreds full <see cref="V1Job"/> objects
/// need. The executor's direct reads make the same record from the Job they read, so both map through the same rules.
/// </summary>
internal sealed class CachedJob
{
    // Times are kept as DateTime with default meaning "none" (see CompactTime).
    private readonly DateTime _created;
    private readonly DateTime _deletionTimestamp;
    private readonly DateTime _startTime;
    private readonly DateTime _completionTime;
    private readonly DateTime _stopRequestedAt;

    private CachedJob(TrainingRun run, string name, Guid uid)
    {
        Run = run;
        Name = name;
        Uid = uid;
    }

    public TrainingRun Run { get; }

    /// <summary>The Job's name (the cache's key for the run).</summary>
    public string Name { get; }

    public Guid Uid { get; }

    public DateTime? Created { get => CompactTime.Unpack(_created); private init => _created = CompactTime.Pack(value); }

    public DateTime? DeletionTimestamp { get => CompactTime.Unpack(_deletionTimestamp); private init => _deletionTimestamp = CompactTime.Pack(value); }

    public bool Suspend { get; private init; }

    public DateTime? StartTime { get => CompactTime.Unpack(_startTime); private init => _startTime = CompactTime.Pack(value); }

    public DateTime? CompletionTime { get => CompactTime.Unpack(_completionTime); private init => _completionTime = CompactTime.Pack(value); }

    /// <summary>When a stop was recorded on the Job (<see cref="KubernetesLabels.StopRequestedAnnotation"/>), or null.</summary>
    public DateTime? StopRequestedAt { get => CompactTime.Unpack(_stopRequestedAt); private init => _stopRequestedAt = CompactTime.Pack(value); }

    /// <summary>The recorded stop's reason (<see cref="KubernetesLabels.StopReasonAnnotation"/>), or null.</summary>
    public string? StopReason { get; private init; }

    /// <summary>Whether the run's log was archived and the Job's TTL set (<see cref="KubernetesLabels.LogsArchivedAnnotation"/>).</summary>
    public bool LogsArchived { get; private init; }

    public int Active { get; private init; }

    public int Failed { get; private init; }

    public int Succeeded { get; private init; }

    /// <summary>The conditions whose status is True (the only ones the mapper reads).</summary>
    public CachedCondition[] Conditions { get; private init; } = [];

    /// <summary>
    /// Label keys and values, alternating (for list queries), without the job id label: the same array instance for
    /// every Job with the same labels (see <see cref="StringPool.ShareLabels"/>).
    /// </summary>
    public string[] Labels { get; private init; } = [];

    /// <summary>The value of the job id label (<see cref="KubernetesLabels.JobId"/>), the run's own job id string when equal; null when the Job has none.</summary>
    public string? JobIdLabel { get; private init; }

    /// <summary>The exact project id (<see cref="KubernetesLabels.ProjectIdAnnotation"/>), or null.</summary>
    public string? ProjectId { get; private init; }

    /// <summary>The Job's resourceVersion as a number (0 when it is not one), to tell whether the pod watch has caught up with it.</summary>
    public long ResourceVersion { get; private init; }

    public int Gpus { get; private init; }

    /// <summary>The nodes of a distributed job (an Indexed Job's completions, one pod per node); 0 for a Job that is not indexed.</summary>
    public int GroupSize { get; private init; }

    public string? CpuRequest { get; private init; }

    /// <summary>The last phase published for this run (to make a Running event when a run was seen only pending, then finished).</summary>
    public TrainingPhase? PublishedPhase { get; set; }

    /// <summary>Whether a watch reported the Job as ADDED (created while watched) and no status was published for it yet.</summary>
    public bool New { get; set; }

    /// <summary>The Job controller's latest refusal to create a pod (a FailedCreate Event), when there was one.</summary>
    public PodCreateFailure? CreateFailure { get; set; }

    /// <summary>The LocalQueue the Job was created in (label <see cref="KubernetesLabels.KueueQueueName"/>), or null when it is not queued.</summary>
    public string? QueueName { get; private init; }

    /// <summary>The run's Kueue Workload, when known (the monitor's Workload watch, or a direct read).</summary>
    public CachedWorkload? Workload { get; set; }

    /// <summary>The run's position in its LocalQueue (1: the next to be admitted), when Kueue's visibility API said.</summary>
    public int? QueuePosition { get; set; }

    /// <summary>The last pod whose log a follow was started for (a finished attempt's log is drained once, never twice).</summary>
    public string? FollowedPod { get; set; }

    /// <summary>The failed trainer's last log lines, once read for a Failed status.</summary>
    public string? FailureTail { get; set; }

    public bool IsFinished => Conditions.Any(c => c.Type is "Complete" or "Failed" or "SuccessCriteriaMet" or "FailureTarget");

    /// <summary>Reads a Job; <see langword="null"/> when it is not a run of the SDK (no job id annotation).</summary>
    public static CachedJob? From(V1Job job, string ns, string gpuResource, CachedJob? previous)
    {
        var metadata = job.Metadata;
        if (metadata?.Name is not { } name || metadata.Annotations?.TryGetValue(KubernetesLabels.JobIdAnnotation, out var jobId) != true || string.IsNullOrEmpty(jobId))
        {
            return null;
        }

        _ = Guid.TryParse(metadata.Uid, out var uid);
        var run = previous is not null && previous.Uid == uid && previous.Run.JobId == jobId
            ? previous.Run
            : new TrainingRun(KubernetesExecutorInfo.ExecutorName, jobId, $"{ns}/{name}");
        return From(job, run, gpuResource, previous);
    }

    /// <summary>Reads a Job known to hold <paramref name="run"/> (the executor's direct reads).</summary>
    public static CachedJob From(V1Job job, TrainingRun run, string gpuResource, CachedJob? previous = null)
    {
        var metadata = job.Metadata ?? new V1ObjectMeta();
        _ = Guid.TryParse(metadata.Uid, out var uid);

        // One copy of the name per run: the previous record's (also the cache's key) or the one in the run's resource id.
        var runName = previous is not null && previous.Name == metadata.Name ? previous.Name : NameOf(run);
        var container = job.Spec?.Template?.Spec?.Containers?.FirstOrDefault(c => c.Name == TrainingJobSpecBuilder.ContainerName)
            ?? job.Spec?.Template?.Spec?.Containers?.FirstOrDefault();
        var limits = container?.Resources?.Limits;
        var requests = container?.Resources?.Requests;
        var gpus = (limits?.TryGetValue(gpuResource, out var g) == true ? g : requests?.TryGetValue(gpuResource, out g) == true ? g : null) is { } quantity
            ? (int)Math.Max(0, quantity.ToDecimal())
            : 0;
        var cpu = requests?.TryGetValue("cpu", out var c) == true ? c : limits?.TryGetValue("cpu", out c) == true ? c : null;
        var status = job.Status;
        var (labels, jobIdLabel) = ReadLabels(metadata.Labels, run.JobId);
        return new CachedJob(run, runName, uid)
        {
            Created = metadata.CreationTimestamp,
            DeletionTimestamp = metadata.DeletionTimestamp,
            StopRequestedAt = ReadStopTime(metadata.Annotations),
            StopReason = metadata.Annotations?.TryGetValue(KubernetesLabels.StopReasonAnnotation, out var stopReason) == true ? StringPool.Share(stopReason) : null,
            LogsArchived = metadata.Annotations?.ContainsKey(KubernetesLabels.LogsArchivedAnnotation) == true,
            Suspend = job.Spec?.Suspend == true,
            StartTime = status?.StartTime,
            CompletionTime = status?.CompletionTime,
            Active = status?.Active ?? 0,
            Failed = status?.Failed ?? 0,
            Succeeded = status?.Succeeded ?? 0,
            Conditions = (status?.Conditions ?? [])
                .Where(x => x.Status == "True")
                .Select(x => new CachedCondition(StringPool.Share(x.Type)!, StringPool.Share(x.Reason), StringPool.Share(x.Message), x.LastTransitionTime))
                .ToArray(),
            Labels = labels,
            JobIdLabel = jobIdLabel,
            ProjectId = metadata.Annotations?.TryGetValue(KubernetesLabels.ProjectIdAnnotation, out var project) == true ? StringPool.Share(project) : null,
            ResourceVersion = long.TryParse(metadata.ResourceVersion, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var rv) ? rv : 0,
            Gpus = gpus,
            GroupSize = job.Spec?.CompletionMode == "Indexed" ? job.Spec.Completions ?? 1 : 0,
            CpuRequest = StringPool.Share(cpu?.ToString()),
            PublishedPhase = previous?.Uid == uid ? previous.PublishedPhase : null,
            FailureTail = previous?.Uid == uid ? previous.FailureTail : null,
            FollowedPod = previous?.Uid == uid ? previous.FollowedPod : null,
            CreateFailure = previous?.Uid == uid ? previous.CreateFailure : null,
            QueueName = metadata.Labels?.TryGetValue(KubernetesLabels.KueueQueueName, out var queue) == true ? StringPool.Share(queue) : null,
            Workload = previous?.Uid == uid ? previous.Workload : null,
            QueuePosition = previous?.Uid == uid ? previous.QueuePosition : null,
            New = previous?.Uid == uid && previous.New,
        };
    }

    /// <summary>Whether the run belongs to exactly this project (see <see cref="KubernetesProject"/>).</summary>
    public bool IsInProject(string project)
    {
        string? label = null;
        for (var i = 0; i + 1 < Labels.Length; i += 2)
        {
            if (Labels[i] == KubernetesLabels.ProjectId)
            {
                label = Labels[i + 1];
                break;
            }
        }

        return KubernetesProject.Matches(ProjectId, label, project);
    }

    public bool HasLabel(string key, string value)
    {
        if (key == KubernetesLabels.JobId)
        {
            return JobIdLabel == value;
        }

        for (var i = 0; i + 1 < Labels.Length; i += 2)
        {
            if (Labels[i] == key)
            {
                return Labels[i + 1] == value;
            }
        }

        return false;
    }

    /// <summary>The time of a recorded stop: RFC 3339 as the executor writes it; a stop whose time cannot be read counts from 0001-01-02.</summary>
    private static DateTime? ReadStopTime(IDictionary<string, string>? annotations)
    {
        if (annotations?.TryGetValue(KubernetesLabels.StopRequestedAnnotation, out var text) != true)
        {
            return null;
        }

        return DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at)
            ? at.UtcDateTime
            : DateTime.MinValue.AddDays(1);
    }

    /// <summary>The Job name part of a Kubernetes run's resource id (<c>namespace/name</c>): the name the cache keys the run by.</summary>
    private static string NameOf(TrainingRun run)
    {
        var slash = run.ResourceId.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? run.ResourceId : run.ResourceId[(slash + 1)..];
    }

    /// <summary>
    /// The labels without the job id label, shared with every Job that has the same ones, and the job id label's value
    /// (the run's job id string itself when equal, so it is not kept twice).
    /// </summary>
    private static (string[] Labels, string? JobIdLabel) ReadLabels(IDictionary<string, string>? source, string jobId)
    {
        if (source is null || source.Count == 0)
        {
            return ([], null);
        }

        string? jobIdLabel = null;
        var pairs = new string[2 * source.Count];
        var count = 0;
        foreach (var (key, value) in source)
        {
            if (key == KubernetesLabels.JobId)
            {
                jobIdLabel = value == jobId ? jobId : value;
                continue;
            }

            pairs[count++] = StringPool.Share(key)!;
            pairs[count++] = StringPool.Share(value)!;
        }

        if (count < pairs.Length)
        {
            Array.Resize(ref pairs, count);
        }

        return (StringPool.ShareLabels(pairs), jobIdLabel);
    }
}

/// <summary>A Job condition whose status is True.</summary>
internal sealed record CachedCondition(string Type, string? Reason, string? Message, DateTime? LastTransitionTime);
