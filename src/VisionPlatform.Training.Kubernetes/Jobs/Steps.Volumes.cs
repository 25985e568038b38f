using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// The writable volumes every trainer needs (<c>/workspace</c>, memory-backed <c>/dev/shm</c>, <c>/tmp</c>,
/// <c>/cache</c>) and the extra volumes from the executor's and the framework's options.
/// </summary>
internal sealed class VolumesStep : IJobBuildStep
{
    /// <summary>Nothing: this part depends on options only.</summary>
    public void ApplyJobParts(JobBuildContext context, JobTemplate template)
    {
    }

    public const string WorkspaceVolume = "workspace";
    public const string SharedMemoryVolume = "dshm";
    public const string TempVolume = "tmp";
    public const string CacheVolume = "cache";
    public const string WorkspacePath = "/workspace";
    public const string SharedMemoryPath = "/dev/shm";
    public const string TempPath = "/tmp";
    public const string CachePath = "/cache";

    /// <summary>Names and paths the SDK uses itself; extra volumes must not reuse them.</summary>
    public static IReadOnlySet<string> ReservedNames { get; } =
        new HashSet<string>(StringComparer.Ordinal) { WorkspaceVolume, SharedMemoryVolume, TempVolume, CacheVolume, TrainerConfigFile.VolumeName };

    public static IReadOnlySet<string> ReservedPaths { get; } =
        new HashSet<string>(StringComparer.Ordinal) { WorkspacePath, SharedMemoryPath, TempPath, CachePath, TrainerConfigFile.MountPath };

    public void Apply(JobBuildContext context)
    {
        var storage = context.Options.Storage;
        var framework = context.Framework;
        var volumes = new List<V1Volume>();
        var mounts = new List<V1VolumeMount>();

        void EmptyDir(string name, string path, string? medium, string? size)
        {
            var index = volumes.Count;
            volumes.Add(new V1Volume
            {
                Name = name,
                EmptyDir = new V1EmptyDirVolumeSource
                {
                    Medium = medium,
                    SizeLimit = context.Quantity($"spec.template.spec.volumes[{index}].emptyDir.sizeLimit", size),
                },
            });
            mounts.Add(new V1VolumeMount { Name = name, MountPath = path });
        }

        EmptyDir(WorkspaceVolume, WorkspacePath, null, storage.WorkspaceSizeLimit);
        EmptyDir(SharedMemoryVolume, SharedMemoryPath, "Memory", framework?.SharedMemorySize ?? storage.SharedMemorySize);
        EmptyDir(TempVolume, TempPath, null, null);
        EmptyDir(CacheVolume, CachePath, null, framework?.CacheSizeLimit ?? storage.CacheSizeLimit);

        foreach (var extra in storage.Volumes.Concat(framework?.Volumes ?? []))
        {
            var index = volumes.Count;
            volumes.Add(ToVolume(context, extra, index));
            mounts.Add(new V1VolumeMount
            {
                Name = extra.Name,
                MountPath = extra.MountPath,
                ReadOnlyProperty = extra.ReadOnly ? true : null,
                SubPath = string.IsNullOrEmpty(extra.SubPath) ? null : extra.SubPath,
            });
        }

        context.Pod.Volumes = volumes;
        context.Container.VolumeMounts = mounts;
    }

    private static V1Volume ToVolume(JobBuildContext context, KubernetesVolumeOptions extra, int index)
    {
        var volume = new V1Volume { Name = extra.Name };
        if (extra.EmptyDir || !string.IsNullOrEmpty(extra.EmptyDirMedium) || !string.IsNullOrEmpty(extra.SizeLimit))
        {
            volume.EmptyDir = new V1EmptyDirVolumeSource
            {
                Medium = string.IsNullOrEmpty(extra.EmptyDirMedium) ? null : extra.EmptyDirMedium,
                SizeLimit = context.Quantity($"spec.template.spec.volumes[{index}].emptyDir.sizeLimit", extra.SizeLimit),
            };
        }

        if (!string.IsNullOrEmpty(extra.PersistentVolumeClaim))
        {
            volume.PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = extra.PersistentVolumeClaim, ReadOnlyProperty = extra.ReadOnly ? true : null };
        }

        if (!string.IsNullOrEmpty(extra.ConfigMap))
        {
            volume.ConfigMap = new V1ConfigMapVolumeSource { Name = extra.ConfigMap };
        }

        if (!string.IsNullOrEmpty(extra.Secret))
        {
            volume.Secret = new V1SecretVolumeSource { SecretName = extra.Secret };
        }

        return volume;
    }
}
