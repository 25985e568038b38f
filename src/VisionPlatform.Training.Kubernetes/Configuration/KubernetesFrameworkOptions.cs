namespace VisionPlatform.Training.Kubernetes;

/// <summary>Overrides for one framework (<c>Training:Kubernetes:Frameworks:&lt;framework&gt;</c>).</summary>
public sealed class KubernetesFrameworkOptions
{
    /// <summary>A full image reference for this framework instead of the <see cref="KubernetesImageOptions"/> pattern.</summary>
    public string? Image { get; set; }

    /// <summary>Default CPU request for this framework's jobs.</summary>
    public string? CpuRequest { get; set; }

    /// <summary>Default CPU limit.</summary>
    public string? CpuLimit { get; set; }

    /// <summary>Default memory request.</summary>
    public string? MemoryRequest { get; set; }

    /// <summary>Default memory limit.</summary>
    public string? MemoryLimit { get; set; }

    /// <summary>Size of <c>/dev/shm</c> for this framework.</summary>
    public string? SharedMemorySize { get; set; }

    /// <summary>Size limit of the <c>/cache</c> volume for this framework.</summary>
    public string? CacheSizeLimit { get; set; }

    /// <summary>Extra plain environment variables (override the executor-wide ones; the job's own override these).</summary>
    public IDictionary<string, string> Environment { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Extra volumes for this framework, added to the executor-wide ones.</summary>
    public IList<KubernetesVolumeOptions> Volumes { get; } = [];

    internal static KubernetesFrameworkOptions HuggingFaceDefaults()
    {
        var options = new KubernetesFrameworkOptions
        {
            MemoryRequest = "16Gi",
            MemoryLimit = "32Gi",
            CacheSizeLimit = "10Gi",
        };
        options.Environment["HF_HOME"] = "/tmp/huggingface";
        return options;
    }
}
