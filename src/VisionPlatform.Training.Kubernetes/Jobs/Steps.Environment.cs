using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// The container's environment: writable HOME and cache directories, then the executor's, the framework's and the
/// job's plain values (later wins), the run's artifact location (<c>VP_ARTIFACT_BUCKET</c>, <c>VP_ARTIFACT_PREFIX</c>,
/// <c>TRAINING_CHECKPOINT_URI</c>) when a store is configured, then Secret and ConfigMap references. Secret values never enter the spec.
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
        var plain = OptionValues(context);
        Merge(plain, context.Invocation.Environment);
        Merge(plain, context.ArtifactVariables);
        context.Container.Env = Compose(plain, References(context.Options), cloneReferences: false);
    }

    /// <summary>
    /// The job's environment and artifact location, when it has either, merged over the template's values; without them
    /// the template's list (already copied) is the answer.
    /// </summary>
    public void ApplyJobParts(JobBuildContext context, JobTemplate template)
    {
        if (context.Invocation.Environment.Count == 0 && context.ArtifactVariables is not { Count: > 0 })
        {
            return;
        }

        var plain = new SortedDictionary<string, string>(StringComparer.Ordinal);
        Merge(plain, template.EnvironmentValues);
        Merge(plain, context.Invocation.Environment);
        Merge(plain, context.ArtifactVariables);
        context.Container.Env = Compose(plain, template.EnvironmentReferences, cloneReferences: true);
    }

    /// <summary>The plain values that do not depend on the job: writable directories, GPU hiding, MLflow, options, framework.</summary>
    public static SortedDictionary<string, string> OptionValues(JobBuildContext context)
    {
        var plain = new SortedDictionary<string, string>(StringComparer.Ordinal);
        Merge(plain, WritableDirectories);

        // Without a GPU the trainer must not pick up a GPU the node's runtime happens to expose.
        if (!context.UsesGpus)
        {
            plain["CUDA_VISIBLE_DEVICES"] = "-1";
        }

        if (context.Trainer?.MlflowTrackingUri is { Length: > 0 } mlflow)
        {
            plain["MLFLOW_TRACKING_URI"] = mlflow;
        }

        Merge(plain, context.Options.Environment);
        Merge(plain, context.Framework?.Environment);
        return plain;
    }

    /// <summary>Secret and ConfigMap references by variable name (they win over plain values of the same name).</summary>
    public static SortedDictionary<string, V1EnvVarSource> References(KubernetesExecutorOptions options)
    {
        var references = new SortedDictionary<string, V1EnvVarSource>(StringComparer.Ordinal);
        foreach (var (name, reference) in options.SecretEnvironment)
        {
            if (!string.IsNullOrEmpty(reference.Name))
            {
                references[name] = new V1EnvVarSource
                {
                    SecretKeyRef = new V1SecretKeySelector { Name = reference.Name, Key = reference.Key ?? string.Empty, Optional = reference.Optional ? true : null },
                };
            }
        }

        foreach (var (name, reference) in options.ConfigMapEnvironment)
        {
            if (!string.IsNullOrEmpty(reference.Name))
            {
                references[name] = new V1EnvVarSource
                {
                    ConfigMapKeyRef = new V1ConfigMapKeySelector { Name = reference.Name, Key = reference.Key ?? string.Empty, Optional = reference.Optional ? true : null },
                };
            }
        }

        return references;
    }

    /// <summary>Plain values first (without those a reference replaces), then the references, each group by name.</summary>
    private static List<V1EnvVar> Compose(SortedDictionary<string, string> plain, IReadOnlyDictionary<string, V1EnvVarSource> references, bool cloneReferences)
    {
        var env = new List<V1EnvVar>(plain.Count + references.Count);
        foreach (var (name, value) in plain)
        {
            if (!references.ContainsKey(name))
            {
                env.Add(new V1EnvVar { Name = name, Value = value });
            }
        }

        foreach (var (name, source) in references)
        {
            env.Add(new V1EnvVar { Name = name, ValueFrom = cloneReferences ? JobTemplate.Copy(source) : source });
        }

        return env;
    }

    private static void Merge(SortedDictionary<string, string> target, IEnumerable<KeyValuePair<string, string>>? source)
    {
        foreach (var (name, value) in source ?? [])
        {
            target[name] = value;
        }
    }
}
