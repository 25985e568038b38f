namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// CPU and memory requests and limits (Kubernetes quantities such as <c>2</c>, <c>500m</c>, <c>8Gi</c>). They apply per
/// resource to jobs that set neither the request nor the limit of that resource.
/// </summary>
public sealed class KubernetesResourceOptions
{
    /// <summary>CPU request.</summary>
    public string? CpuRequest { get; set; }

    /// <summary>CPU limit.</summary>
    public string? CpuLimit { get; set; }

    /// <summary>Memory request.</summary>
    public string? MemoryRequest { get; set; }

    /// <summary>Memory limit.</summary>
    public string? MemoryLimit { get; set; }
}
