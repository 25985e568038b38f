namespace VisionPlatform.Training.Kubernetes;

/// <summary>Per-job settings that only make sense on Kubernetes, passed next to the <see cref="TrainingJobConfig"/>.</summary>
public sealed record KubernetesJobOptions
{
    /// <summary>No per-job settings.</summary>
    public static KubernetesJobOptions None { get; } = new();

    /// <summary>A custom trainer image for this job (overrides the framework's and the pattern's image).</summary>
    public string? Image { get; init; }
}
