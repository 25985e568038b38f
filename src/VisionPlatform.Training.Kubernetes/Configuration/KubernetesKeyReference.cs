namespace VisionPlatform.Training.Kubernetes;

/// <summary>A key of a Secret or ConfigMap in the Job's namespace. The executor only references it; it never reads the value.</summary>
public sealed class KubernetesKeyReference
{
    /// <summary>The Secret or ConfigMap name; empty to leave the variable out.</summary>
    public string? Name { get; set; }

    /// <summary>The key within it.</summary>
    public string? Key { get; set; }

    /// <summary>Whether the pod may start without it (default <see langword="false"/>: a missing Secret keeps the pod from starting).</summary>
    public bool Optional { get; set; }
}
