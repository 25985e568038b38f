using System.Globalization;
using System.Text;
using k8s.Models;
using VisionPlatform.Training.Trainers;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// The trainer's config as a file on Kubernetes: when the contract passes it as a file (the json-config contract's
/// <c>--config @path</c>, for a config too large for one argument), it travels in a ConfigMap named after the Job
/// (<c>&lt;job-name&gt;-config</c>, key <c>config.json</c>), mounted read-only at <see cref="MountPath"/>.
/// </summary>
internal static class TrainerConfigFile
{
    /// <summary>The directory the ConfigMap is mounted at.</summary>
    public const string MountPath = "/etc/visionplatform/config";

    /// <summary>The ConfigMap's data key: the file name under <see cref="MountPath"/>.</summary>
    public const string DataKey = "config.json";

    /// <summary>The path the trainer reads (<c>--config @/etc/visionplatform/config/config.json</c>).</summary>
    public const string FilePath = MountPath + "/" + DataKey;

    /// <summary>The pod volume's name.</summary>
    public const string VolumeName = "trainer-config";

    /// <summary>A ConfigMap carries at most 1 MiB of data (the apiserver's limit).</summary>
    public const int MaxConfigMapBytes = 1024 * 1024;

    /// <summary>The ConfigMap's name for a Job.</summary>
    public static string ConfigMapName(string jobName) => jobName + "-config";

    /// <summary>Refuses a config file larger than one ConfigMap carries, naming the limit, before anything is sent.</summary>
    public static void EnsureFits(TrainingJobConfig config, TrainerInvocation invocation)
    {
        if (invocation.ConfigFileContent is not { } content)
        {
            return;
        }

        var bytes = Encoding.UTF8.GetByteCount(content);
        if (bytes + DataKey.Length > MaxConfigMapBytes)
        {
            throw new TrainingValidationException([new(
                nameof(TrainingJobConfig.AdvancedConfig),
                string.Create(CultureInfo.InvariantCulture, $"({bytes} bytes of UTF-8 in the trainer's config)"),
                string.Create(CultureInfo.InvariantCulture, $"must make a trainer config of at most {MaxConfigMapBytes - DataKey.Length} bytes of UTF-8: on Kubernetes a config too large for one process argument (Linux MAX_ARG_STRLEN, 128 KiB) travels as a file in a ConfigMap, and a ConfigMap carries at most {MaxConfigMapBytes} bytes (1 MiB) of data"))])
            {
                ExecutorName = KubernetesExecutorInfo.ExecutorName,
                JobId = config.JobId,
            };
        }
    }

    /// <summary>Adds the ConfigMap volume and its read-only mount to a built Job when the config travels as a file.</summary>
    public static V1Job Mount(V1Job job, TrainerInvocation invocation)
    {
        if (invocation.ConfigFileContent is null)
        {
            return job;
        }

        var pod = job.Spec.Template.Spec;
        pod.Volumes = [.. pod.Volumes ?? [], new V1Volume
        {
            Name = VolumeName,
            ConfigMap = new V1ConfigMapVolumeSource
            {
                Name = ConfigMapName(job.Metadata.Name),
                Items = [new V1KeyToPath { Key = DataKey, Path = DataKey }],
            },
        }];
        var container = pod.Containers[0];
        container.VolumeMounts = [.. container.VolumeMounts ?? [], new V1VolumeMount { Name = VolumeName, MountPath = MountPath, ReadOnlyProperty = true }];
        return job;
    }

    /// <summary>The ConfigMap for a built Job, or <see langword="null"/> when the config travels as an argument.</summary>
    public static V1ConfigMap? CreateConfigMap(V1Job job, TrainerInvocation invocation)
    {
        if (invocation.ConfigFileContent is not { } content)
        {
            return null;
        }

        return new V1ConfigMap
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = new V1ObjectMeta
            {
                Name = ConfigMapName(job.Metadata.Name),
                NamespaceProperty = job.Metadata.NamespaceProperty,
                Labels = job.Metadata.Labels is { } labels ? new Dictionary<string, string>(labels, StringComparer.Ordinal) : null,
                Annotations = job.Metadata.Annotations is { } annotations
                    && annotations.TryGetValue(KubernetesLabels.ConfigHashAnnotation, out var hash)
                    ? new Dictionary<string, string>(StringComparer.Ordinal) { [KubernetesLabels.ConfigHashAnnotation] = hash }
                    : null,
            },
            Data = new Dictionary<string, string>(StringComparer.Ordinal) { [DataKey] = content },
        };
    }
}
