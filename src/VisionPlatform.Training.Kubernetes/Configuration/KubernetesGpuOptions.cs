namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// GPU settings (<c>Training:Kubernetes:Gpu</c>). The tolerations and node selector are applied only to jobs that
/// request GPUs, so CPU-only jobs never land on (or wait for) GPU nodes.
/// </summary>
public sealed class KubernetesGpuOptions
{
    /// <summary>The extended resource name the device plugin advertises (default <c>nvidia.com/gpu</c>; for example <c>amd.com/gpu</c>).</summary>
    public string ResourceName { get; set; } = "nvidia.com/gpu";

    /// <summary>
    /// Tolerations for GPU jobs. When not set: <c>nvidia.com/gpu Exists NoSchedule</c>. A configured list replaces the
    /// default; set an empty list in code for none.
    /// </summary>
    public IList<KubernetesTolerationOptions>? Tolerations { get; set; }

    /// <summary>
    /// Node selector for GPU jobs (default <c>accelerator: nvidia-gpu</c>). Configured entries are merged into the
    /// default; an entry with an empty value removes that key.
    /// </summary>
    public IDictionary<string, string> NodeSelector { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["accelerator"] = "nvidia-gpu",
    };

    /// <summary>The default toleration.</summary>
    internal static IReadOnlyList<KubernetesTolerationOptions> DefaultTolerations { get; } =
        [new KubernetesTolerationOptions { Key = "nvidia.com/gpu", Operator = "Exists", Effect = "NoSchedule" }];

    /// <summary>The effective tolerations.</summary>
    internal IReadOnlyList<KubernetesTolerationOptions> EffectiveTolerations =>
        Tolerations is { } list ? list.ToArray() : DefaultTolerations;
}

/// <summary>One toleration (Kubernetes <c>core/v1 Toleration</c>).</summary>
public sealed class KubernetesTolerationOptions
{
    /// <summary>The taint key; empty with <c>Exists</c> tolerates every taint.</summary>
    public string? Key { get; set; }

    /// <summary><c>Exists</c> or <c>Equal</c> (default <c>Equal</c>).</summary>
    public string? Operator { get; set; }

    /// <summary>The taint value (only with <c>Equal</c>).</summary>
    public string? Value { get; set; }

    /// <summary><c>NoSchedule</c>, <c>PreferNoSchedule</c>, <c>NoExecute</c>, or empty for all.</summary>
    public string? Effect { get; set; }

    /// <summary>How long a <c>NoExecute</c> taint is tolerated.</summary>
    public long? TolerationSeconds { get; set; }
}
