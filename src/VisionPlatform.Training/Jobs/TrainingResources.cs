namespace VisionPlatform.Training;

/// <summary>
/// Compute resources a job asks for. CPU and memory use Kubernetes quantity syntax (<c>2</c>, <c>500m</c>, <c>8Gi</c>);
/// the subprocess executor uses <see cref="Gpus"/> to hand out GPUs and ignores the rest.
/// </summary>
public sealed record TrainingResources
{
    /// <summary>No GPU and no CPU or memory requests or limits.</summary>
    public static TrainingResources None { get; } = new();

    /// <summary>Number of whole GPUs (0 for a CPU-only job).</summary>
    public int Gpus { get; init; }

    /// <summary>CPU request, for example <c>2</c> or <c>500m</c>.</summary>
    public string? CpuRequest { get; init; }

    /// <summary>CPU limit; when both are set it must be at least <see cref="CpuRequest"/>.</summary>
    public string? CpuLimit { get; init; }

    /// <summary>Memory request, for example <c>8Gi</c>.</summary>
    public string? MemoryRequest { get; init; }

    /// <summary>Memory limit; when both are set it must be at least <see cref="MemoryRequest"/>.</summary>
    public string? MemoryLimit { get; init; }
}
