using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// The container's environment: writable HOME and cache directories, then the executor's, the framework's and the
/// job's plain values (later wins), then Secret and ConfigMap references. Secret values never enter the spec.
/// </summary>
internal sealed class EnvironmentStep : IJobBuildStep
{
    /// <summary>Where HOME and the libraries' caches point: all on the writable <c>/cache</c> and <c>/tmp</c> volumes.</summary>
    public static IReadOnlyDictionary<string, string> WritableDirectories { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["HOME"] = VolumesStep.CachePath,
        ["TMPDIR"] = VolumesStep.TempPath,
        ["XDG_CACHE_HOME"] = VolumesStep.CachePath + "/xdg",
        ["XDG_CONFIG_HOME"] = VolumesStep.CachePath + "/config",
        ["TORCH_HOME"] = VolumesStep.CachePath + "/torch",
        ["HF_HOME"] = VolumesStep.CachePath + "/huggingface",
        ["MPLCONFIGDIR"] = VolumesStep.CachePath + "/matplotlib",
        ["YOLO_CONFIG_DIR"] = VolumesStep.CachePath + "/ultralytics",
        ["PYTHONUNBUFFERED"] = "1",
    };

    public void Apply(JobBuildContext context)
    {
        var options = context.Options;
        var plain = new SortedDictionary<string, string>(WritableDirectories.ToDictionary(), StringComparer.Ordinal);

        // Without a GPU the trainer must not pick up a GPU the node's runtime happens to expose.
        if (!context.UsesGpus)
        {
            plain["CUDA_VISIBLE_DEVICES"] = "-1";
        }

        if (context.Trainer?.MlflowTrackingUri is { Length: > 0 } mlflow)
        {
            plain["MLFLOW_TRACKING_URI"] = mlflow;
        }

        Merge(plain, options.Environment);
        Merge(plain, context.Framework?.Environment);
        Merge(plain, context.Invocation.Environment);

        var references = new SortedDictionary<string, V1EnvVarSource>(StringComparer.Ordinal);
        foreach (var (name, reference) in options.SecretEnvironment.Where(e => !string.IsNullOrEmpty(e.Value.Name)))
        {
            references[name] = new V1EnvVarSource
            {
                SecretKeyRef = new V1SecretKeySelector { Name = reference.Name, Key = reference.Key ?? string.Empty, Optional = reference.Optional ? true : null },
            };
        }

        foreach (var (name, reference) in options.ConfigMapEnvironment.Where(e => !string.IsNullOrEmpty(e.Value.Name)))
        {
            references[name] = new V1EnvVarSource
            {
                ConfigMapKeyRef = new V1ConfigMapKeySelector { Name = reference.Name, Key = reference.Key ?? string.Empty, Optional = reference.Optional ? true : null },
            };
        }

        var env = plain.Where(p => !references.ContainsKey(p.Key)).Select(p => new V1EnvVar { Name = p.Key, Value = p.Value }).ToList();
        env.AddRange(references.Select(r => new V1EnvVar { Name = r.Key, ValueFrom = r.Value }));
        context.Container.Env = env;
    }

    private static void Merge(SortedDictionary<string, string> target, IEnumerable<KeyValuePair<string, string>>? source)
    {
        foreach (var (name, value) in source ?? [])
        {
            target[name] = value;
        }
    }
}
