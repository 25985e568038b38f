namespace VisionPlatform.Training.Kubernetes;

/// <summary>Per-job settings that only make sense on Kubernetes, passed next to the <see cref="TrainingJobConfig"/>.</summary>
/// <remarks>
/// <see cref="Image"/> is part of the run's identity (a repeated start with another image is a conflict); the queue and
/// priority settings are placement, not configuration: a repeated start with another queue or priority returns the
/// existing run as it was started.
/// </remarks>
public sealed record KubernetesJobOptions
{
    /// <summary>No per-job settings.</summary>
    public static KubernetesJobOptions None { get; } = new();

    /// <summary>A custom trainer image for this job (overrides the framework's and the pattern's image).</summary>
    public string? Image { get; init; }

    /// <summary>
    /// The Kueue LocalQueue of this job (label <c>kueue.x-k8s.io/queue-name</c>; the Job is created suspended until Kueue
    /// admits it). <see langword="null"/>: <c>Training:Kubernetes:Kueue:QueueName</c>; an empty string: not queued, even
    /// when the host has a queue. A DNS subdomain of at most 63 characters.
    /// </summary>
    public string? QueueName { get; init; }

    /// <summary>
    /// The Kueue WorkloadPriorityClass of this job (label <c>kueue.x-k8s.io/priority-class</c>).
    /// <see langword="null"/>: <c>Training:Kubernetes:Kueue:WorkloadPriorityClass</c>; an empty string: none. Only set
    /// on a queued job.
    /// </summary>
    public string? WorkloadPriorityClass { get; init; }

    /// <summary>
    /// The pods' PriorityClass of this job (<c>spec.template.spec.priorityClassName</c>). <see langword="null"/>:
    /// <c>Training:Kubernetes:PriorityClassName</c>; an empty string: none.
    /// </summary>
    public string? PriorityClassName { get; init; }
}
