using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Everything in a Job that depends only on the executor's options, for one framework with or without GPUs: job
/// policy, image, command, pull secrets, pod security, default resources, volumes, the options' environment and GPU
/// scheduling. Built by the same steps as a full Job and checked once by <see cref="KubernetesJobValidator"/>, so a
/// start only copies it, fills in the job's own parts and validates those (see <see cref="TrainingJobSpecBuilder"/>).
/// Immutable once built: <see cref="CreateJob"/> hands out deep copies, which callers may change freely.
/// </summary>
internal sealed class JobTemplate
{
    /// <summary>The name the template is validated under; every real Job gets the job's own name.</summary>
    private const string ProbeName = "training-job-template";

    private readonly V1Job _job;

    private JobTemplate(V1Job job, bool isValid, SortedDictionary<string, string> environmentValues, IReadOnlyDictionary<string, V1EnvVarSource> environmentReferences)
    {
        _job = job;
        IsValid = isValid;
        EnvironmentValues = environmentValues;
        EnvironmentReferences = environmentReferences;
    }

    /// <summary>
    /// Whether the options-derived part passed validation. When it did not, the builder takes the full path for
    /// every job, so the problems are reported exactly as before, together with the job's own.
    /// </summary>
    public bool IsValid { get; }

    /// <summary>The plain environment values from options (before the job's environment is merged in).</summary>
    public IReadOnlyDictionary<string, string> EnvironmentValues { get; }

    /// <summary>The Secret and ConfigMap references, by variable name.</summary>
    public IReadOnlyDictionary<string, V1EnvVarSource> EnvironmentReferences { get; }

    /// <summary>Builds the template with <paramref name="steps"/> and validates it once.</summary>
    public static JobTemplate Create(
        IReadOnlyList<IJobBuildStep> steps,
        KubernetesExecutorOptions options,
        string framework,
        bool usesGpus,
        TrainerOptions? trainer,
        QuantityCache quantities)
    {
        var context = JobBuildContext.ForTemplate(options, framework, usesGpus, trainer, quantities);
        foreach (var step in steps)
        {
            if (step is not MetadataStep)
            {
                step.Apply(context);
            }
        }

        var probe = Copy(context.Job);
        probe.Metadata.Name = ProbeName;
        var isValid = context.Problems.Count == 0 && KubernetesJobValidator.Validate(probe).Count == 0;
        return new JobTemplate(context.Job, isValid, EnvironmentStep.OptionValues(context), EnvironmentStep.References(options));
    }

    /// <summary>A deep copy of the template, with empty metadata, for one job's build.</summary>
    public V1Job CreateJob() => Copy(_job);

    // The copies below cover every object the build steps create. Scalars and strings are copied by the records' own
    // copy (`with`); quantities are shared (ResourceQuantity is immutable); every list, map and nested object is new.
    private static V1Job Copy(V1Job job) => job with
    {
        Metadata = new V1ObjectMeta(),
        Spec = job.Spec with
        {
            PodFailurePolicy = job.Spec.PodFailurePolicy is { } policy ? policy with { Rules = CopyList(policy.Rules, Copy) } : null,
            Template = new V1PodTemplateSpec { Metadata = new V1ObjectMeta(), Spec = Copy(job.Spec.Template.Spec) },
        },
    };

    private static V1PodFailurePolicyRule Copy(V1PodFailurePolicyRule rule) => rule with
    {
        OnExitCodes = rule.OnExitCodes is { } exit ? exit with { Values = CopyList(exit.Values, v => v) } : null,
        OnPodConditions = CopyList(rule.OnPodConditions, c => c with { }),
    };

    private static V1PodSpec Copy(V1PodSpec pod) => pod with
    {
        Containers = CopyList(pod.Containers, Copy),
        ImagePullSecrets = CopyList(pod.ImagePullSecrets, s => s with { }),
        SecurityContext = pod.SecurityContext is { } security
            ? security with { SeccompProfile = security.SeccompProfile is { } seccomp ? seccomp with { } : null }
            : null,
        Volumes = CopyList(pod.Volumes, Copy),
        Tolerations = CopyList(pod.Tolerations, t => t with { }),
        NodeSelector = CopyMap(pod.NodeSelector),
    };

    private static V1Volume Copy(V1Volume volume) => volume with
    {
        EmptyDir = volume.EmptyDir is { } emptyDir ? emptyDir with { } : null,
        PersistentVolumeClaim = volume.PersistentVolumeClaim is { } claim ? claim with { } : null,
        ConfigMap = volume.ConfigMap is { } configMap ? configMap with { } : null,
        Secret = volume.Secret is { } secret ? secret with { } : null,
    };

    private static V1Container Copy(V1Container container) => container with
    {
        Command = CopyList(container.Command, c => c),
        Args = CopyList(container.Args, a => a),
        Env = CopyList(container.Env, e => e with { ValueFrom = e.ValueFrom is { } from ? Copy(from) : null }),
        Resources = container.Resources is { } resources
            ? resources with { Requests = CopyMap(resources.Requests), Limits = CopyMap(resources.Limits) }
            : null,
        SecurityContext = container.SecurityContext is { } security
            ? security with { Capabilities = security.Capabilities is { } caps ? caps with { Drop = CopyList(caps.Drop, d => d) } : null }
            : null,
        VolumeMounts = CopyList(container.VolumeMounts, m => m with { }),
    };

    /// <summary>A copy of an environment reference (the builder's own: a Secret or ConfigMap key).</summary>
    public static V1EnvVarSource Copy(V1EnvVarSource source) => source with
    {
        SecretKeyRef = source.SecretKeyRef is { } secret ? secret with { } : null,
        ConfigMapKeyRef = source.ConfigMapKeyRef is { } configMap ? configMap with { } : null,
    };

    private static List<T>? CopyList<T>(IList<T>? list, Func<T, T> copy)
    {
        if (list is null)
        {
            return null;
        }

        var result = new List<T>(list.Count);
        foreach (var item in list)
        {
            result.Add(copy(item));
        }

        return result;
    }

    private static SortedDictionary<string, TValue>? CopyMap<TValue>(IDictionary<string, TValue>? map) =>
        map is null ? null : new SortedDictionary<string, TValue>(map, StringComparer.Ordinal);
}
