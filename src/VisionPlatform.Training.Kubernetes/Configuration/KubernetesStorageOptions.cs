namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// The pod's volumes (<c>Training:Kubernetes:Storage</c>). Every Job gets <c>workspace</c> at <c>/workspace</c>,
/// <c>dshm</c> (memory-backed) at <c>/dev/shm</c> for PyTorch data loaders, <c>tmp</c> at <c>/tmp</c> and <c>cache</c>
/// at <c>/cache</c>, where <c>HOME</c> and the library caches point, so the trainer runs with a read-only root file system.
/// </summary>
public sealed class KubernetesStorageOptions
{
    /// <summary>Size of the memory-backed <c>/dev/shm</c> (default <c>2Gi</c>; it counts against the memory limit).</summary>
    public string SharedMemorySize { get; set; } = "2Gi";

    /// <summary>Size limit of the <c>/workspace</c> emptyDir (default: none).</summary>
    public string? WorkspaceSizeLimit { get; set; }

    /// <summary>Size limit of the <c>/cache</c> emptyDir (default: none).</summary>
    public string? CacheSizeLimit { get; set; }

    /// <summary>Extra volumes mounted into every trainer container.</summary>
    public IList<KubernetesVolumeOptions> Volumes { get; } = [];
}

/// <summary>
/// One extra volume and its mount. Exactly one source must be set: <see cref="EmptyDir"/>,
/// <see cref="PersistentVolumeClaim"/>, <see cref="ConfigMap"/> or <see cref="Secret"/>.
/// </summary>
public sealed class KubernetesVolumeOptions
{
    /// <summary>The volume name (a DNS-1123 label, unique in the pod).</summary>
    public string? Name { get; set; }

    /// <summary>Where it is mounted in the container (absolute path).</summary>
    public string? MountPath { get; set; }

    /// <summary>Mount it read-only.</summary>
    public bool ReadOnly { get; set; }

    /// <summary>A path within the volume to mount instead of its root.</summary>
    public string? SubPath { get; set; }

    /// <summary>An emptyDir: set to <c>true</c> for a disk-backed one, or use <see cref="EmptyDirMedium"/>.</summary>
    public bool EmptyDir { get; set; }

    /// <summary>The emptyDir medium: empty (disk) or <c>Memory</c>.</summary>
    public string? EmptyDirMedium { get; set; }

    /// <summary>The emptyDir size limit (a quantity).</summary>
    public string? SizeLimit { get; set; }

    /// <summary>The name of a PersistentVolumeClaim in the namespace (for datasets or a shared cache).</summary>
    public string? PersistentVolumeClaim { get; set; }

    /// <summary>The name of a ConfigMap to mount as files.</summary>
    public string? ConfigMap { get; set; }

    /// <summary>The name of a Secret to mount as files (the files hold the values; the Job spec only names the Secret).</summary>
    public string? Secret { get; set; }
}
