namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// The pod's security settings (<c>Training:Kubernetes:Security</c>). The default satisfies the restricted Pod
/// Security Standard: non-root uid/gid 1000 (the trainer images' <c>trainer</c> user), no privilege escalation, all
/// capabilities dropped, the RuntimeDefault seccomp profile, and no service account token.
/// </summary>
public sealed class KubernetesSecurityOptions
{
    /// <summary>Apply the restricted profile (default true). Turn off only for images that must run as root.</summary>
    public bool Restricted { get; set; } = true;

    /// <summary>The user id (default 1000).</summary>
    public long RunAsUser { get; set; } = 1000;

    /// <summary>The group id (default 1000).</summary>
    public long RunAsGroup { get; set; } = 1000;

    /// <summary>The group that owns mounted volumes (default 1000).</summary>
    public long FsGroup { get; set; } = 1000;

    /// <summary>Mount the image's root file system read-only (default false; every path the SDK sets up is writable either way).</summary>
    public bool ReadOnlyRootFilesystem { get; set; }

    /// <summary>Mount the service account token into the pod (default false: the trainer does not call the Kubernetes API).</summary>
    public bool AutomountServiceAccountToken { get; set; }
}
