using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// What the monitor keeps of a Job: only the fields <see cref="KubernetesStatusMapper"/>, cost and list queries read,
/// so 10,000 tracked runs fit in a few megabytes instead of the hundreds a cache of full <see cref="V1Job"/> objects needs.
/// </summary>
internal sealed class CachedJob
{
    private CachedJob(TrainingRun run, Guid uid)
    {
        Run = run;
        Uid = uid;
    }

    public TrainingRun Run { get; }

    public string Name => Run.ResourceId[(Run.ResourceId.IndexOf('/', StringComparison.Ordinal) + 1)..];

    public Guid Uid { get; }

    public DateTime? Created { get; private set; }

    public DateTime? DeletionTimestamp { get; private set; }

    public bool Suspend { get; private set; }

    public DateTime? StartTime { get; private set; }

    public DateTime? CompletionTime { get; private set; }

    public int Active { get; private set; }

    public int Failed { get; private set; }

    public int Succeeded { get; private set; }

    /// <summary>The conditions whose status is True (the only ones the mapper reads).</summary>
    public CachedCondition[] Conditions { get; private set; } = [];

    /// <summary>Label keys and values, alternating (for list queries).</summary>
    public string[] Labels { get; private set; } = [];

    /// <summary>The Job's resourceVersion as a number (0 when it is not one), to tell whether the pod watch has caught up with it.</summary>
    public long ResourceVersion { get; private set; }

    public int Gpus { get; private set; }

    public string? CpuRequest { get; private set; }

    /// <summary>The last phase published for this run (to make a Running event when a run was seen only pending, then finished).</summary>
    public TrainingPhase? PublishedPhase { get; set; }

    /// <summary>Whether a watch reported the Job as ADDED (created while watched) and no status was published for it yet.</summary>
    public bool New { get; set; }

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
            : new TrainingRun(TrainingExecutorNames.Kubernetes, jobId, $"{ns}/{name}");
        var container = job.Spec?.Template?.Spec?.Containers?.FirstOrDefault(c => c.Name == TrainingJobSpecBuilder.ContainerName)
            ?? job.Spec?.Template?.Spec?.Containers?.FirstOrDefault();
        var limits = container?.Resources?.Limits;
        var requests = container?.Resources?.Requests;
        var gpus = (limits?.TryGetValue(gpuResource, out var g) == true ? g : requests?.TryGetValue(gpuResource, out g) == true ? g : null) is { } quantity
            ? (int)Math.Max(0, quantity.ToDecimal())
            : 0;
        var cpu = requests?.TryGetValue("cpu", out var c) == true ? c : limits?.TryGetValue("cpu", out c) == true ? c : null;
        var status = job.Status;
        return new CachedJob(run, uid)
        {
            Created = metadata.CreationTimestamp,
            DeletionTimestamp = metadata.DeletionTimestamp,
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
            Labels = (metadata.Labels ?? new Dictionary<string, string>())
                .SelectMany(l => new[] { StringPool.Share(l.Key)!, l.Key == KubernetesLabels.JobId ? l.Value : StringPool.Share(l.Value)! })
                .ToArray(),
            ResourceVersion = long.TryParse(metadata.ResourceVersion, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var rv) ? rv : 0,
            Gpus = gpus,
            CpuRequest = StringPool.Share(cpu?.ToString()),
            PublishedPhase = previous?.Uid == uid ? previous.PublishedPhase : null,
            FailureTail = previous?.Uid == uid ? previous.FailureTail : null,
            New = previous?.Uid == uid && previous.New,
        };
    }

    public bool HasLabel(string key, string value)
    {
        for (var i = 0; i + 1 < Labels.Length; i += 2)
        {
            if (Labels[i] == key)
            {
                return Labels[i + 1] == value;
            }
        }

        return false;
    }

    /// <summary>A Job with just the fields the mapper reads. A finished Job that is being deleted keeps its outcome.</summary>
    public V1Job ToJob(string ns) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = Name,
            NamespaceProperty = ns,
            Uid = Uid.ToString(),
            CreationTimestamp = Created,
            DeletionTimestamp = IsFinished ? null : DeletionTimestamp,
        },
        Spec = new V1JobSpec { Suspend = Suspend, Template = new V1PodTemplateSpec() },
        Status = new V1JobStatus
        {
            StartTime = StartTime,
            CompletionTime = CompletionTime,
            Active = Active,
            Failed = Failed,
            Succeeded = Succeeded,
            Conditions = Conditions.Select(c => new V1JobCondition { Type = c.Type, Status = "True", Reason = c.Reason, Message = c.Message, LastTransitionTime = c.LastTransitionTime }).ToList(),
        },
    };
}

/// <summary>A Job condition whose status is True.</summary>
internal sealed record CachedCondition(string Type, string? Reason, string? Message, DateTime? LastTransitionTime);
