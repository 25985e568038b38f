using k8s.Models;
using VisionPlatform.Training.Trainers;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// The state shared by the build steps: the inputs, the Job being filled in, and problems found that only the
/// builder can see (for example a job label that collides with a label the executor sets).
/// </summary>
internal sealed class JobBuildContext
{
    public JobBuildContext(
        TrainingJobConfig config,
        KubernetesExecutorOptions options,
        KubernetesJobOptions jobOptions,
        TrainerInvocation invocation,
        TrainerOptions? trainer)
    {
        Config = config;
        Options = options;
        JobOptions = jobOptions;
        Invocation = invocation;
        Trainer = trainer;
        Framework = options.ForFramework(config.Framework.Value);
        Container = new V1Container { Name = TrainingJobSpecBuilder.ContainerName };
        Pod = new V1PodSpec { Containers = [Container] };
        Job = new V1Job
        {
            ApiVersion = "batch/v1",
            Kind = "Job",
            Metadata = new V1ObjectMeta(),
            Spec = new V1JobSpec
            {
                Template = new V1PodTemplateSpec { Metadata = new V1ObjectMeta(), Spec = Pod },
            },
        };
    }

    public TrainingJobConfig Config { get; }

    public KubernetesExecutorOptions Options { get; }

    public KubernetesJobOptions JobOptions { get; }

    /// <summary>The overrides for the job's framework, if any.</summary>
    public KubernetesFrameworkOptions? Framework { get; }

    /// <summary>The trainer contract's arguments and environment for this job.</summary>
    public TrainerInvocation Invocation { get; }

    /// <summary>Plain trainer settings shared with other executors (MLflow URI); never the local storage keys.</summary>
    public TrainerOptions? Trainer { get; }

    public V1Job Job { get; }

    public V1PodSpec Pod { get; }

    public V1Container Container { get; }

    public bool UsesGpus => Config.Resources.Gpus > 0;

    public List<TrainingValidationError> Problems { get; } = [];

    /// <summary>
    /// Parses a quantity from options; an unparsable one becomes a problem at <paramref name="path"/> instead of the
    /// client library's ArgumentException, so every problem is reported together.
    /// </summary>
    public k8s.Models.ResourceQuantity? Quantity(string path, string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (!KubernetesSyntax.TryParseQuantity(text, out _))
        {
            Problems.Add(new(path, text, "must be a Kubernetes quantity such as '500m', '2', '8Gi' (decimal suffixes k, M, G, T; binary Ki, Mi, Gi, Ti)"));
            return null;
        }

        return new k8s.Models.ResourceQuantity(text);
    }
}

/// <summary>One small, ordered part of turning a job into a Job spec.</summary>
internal interface IJobBuildStep
{
    void Apply(JobBuildContext context);
}
