using k8s.Models;
using VisionPlatform.Training.Trainers;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// The state shared by the build steps: the inputs, the Job being filled in, and problems found that only the
/// builder can see (for example a job label that collides with a label the executor sets).
/// </summary>
internal sealed class JobBuildContext
{
    private static readonly TrainerInvocation NoInvocation = new([], new Dictionary<string, string>(StringComparer.Ordinal));

    private readonly TrainingJobConfig? _config;

    /// <summary>A context for one job: every step applies, starting from an empty Job.</summary>
    public JobBuildContext(
        TrainingJobConfig config,
        KubernetesExecutorOptions options,
        KubernetesJobOptions jobOptions,
        TrainerInvocation invocation,
        TrainerOptions? trainer)
        : this(config, options, jobOptions, invocation, trainer, NewJob())
    {
    }

    /// <summary>A context for one job that starts from <paramref name="job"/>, a copy of a <see cref="JobTemplate"/>.</summary>
    public JobBuildContext(
        TrainingJobConfig config,
        KubernetesExecutorOptions options,
        KubernetesJobOptions jobOptions,
        TrainerInvocation invocation,
        TrainerOptions? trainer,
        V1Job job)
        : this(options, config.Framework.Value, config.Resources, jobOptions, invocation, trainer, job)
    {
        _config = config;
    }

    private JobBuildContext(
        KubernetesExecutorOptions options,
        string framework,
        TrainingResources resources,
        KubernetesJobOptions jobOptions,
        TrainerInvocation invocation,
        TrainerOptions? trainer,
        V1Job job)
    {
        Options = options;
        FrameworkName = framework;
        Resources = resources;
        JobOptions = jobOptions;
        Invocation = invocation;
        Trainer = trainer;
        Framework = options.ForFramework(framework);
        Job = job;
        Pod = job.Spec.Template.Spec;
        Container = Pod.Containers[0];
    }

    /// <summary>
    /// A context for the options-derived part of every Job of one framework, with or without GPUs: no job config,
    /// no per-job image, no trainer arguments or environment, and the job's resources left to the defaults (one GPU
    /// stands for "uses GPUs").
    /// </summary>
    public static JobBuildContext ForTemplate(KubernetesExecutorOptions options, string framework, bool usesGpus, TrainerOptions? trainer, QuantityCache? quantities) =>
        new(options, framework, usesGpus ? new TrainingResources { Gpus = 1 } : TrainingResources.None, KubernetesJobOptions.None, NoInvocation, trainer, NewJob())
        {
            Quantities = quantities,
        };

    /// <summary>The job; templates have none (only <see cref="MetadataStep"/> needs it, and it is per job).</summary>
    public TrainingJobConfig Config => _config ?? throw new InvalidOperationException("A Job template has no job config.");

    /// <summary>The job, or <see langword="null"/> while a template is built.</summary>
    public TrainingJobConfig? JobConfig => _config;

    /// <summary>The job's framework (the key of <see cref="KubernetesExecutorOptions.Frameworks"/> and the image pattern).</summary>
    public string FrameworkName { get; }

    /// <summary>The job's resources (for a template: none but the GPU flag).</summary>
    public TrainingResources Resources { get; }

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

    public bool UsesGpus => Resources.Gpus > 0;

    public List<TrainingValidationError> Problems { get; } = [];

    /// <summary>
    /// <c>VP_ARTIFACT_BUCKET</c> and <c>VP_ARTIFACT_PREFIX</c> for this job when an artifact store is configured; none for
    /// templates (the prefix is per job) or without a store. Plain values, never secrets.
    /// </summary>
    public IReadOnlyDictionary<string, string>? ArtifactVariables { get; init; }

    /// <summary>Parsed quantities shared by the builds of one builder; <see langword="null"/> to parse every time.</summary>
    public QuantityCache? Quantities { get; init; }

    /// <summary>An empty Job with one (empty) trainer container: what the steps fill in.</summary>
    public static V1Job NewJob()
    {
        var container = new V1Container { Name = TrainingJobSpecBuilder.ContainerName };
        return new V1Job
        {
            ApiVersion = "batch/v1",
            Kind = "Job",
            Metadata = new V1ObjectMeta(),
            Spec = new V1JobSpec
            {
                Template = new V1PodTemplateSpec { Metadata = new V1ObjectMeta(), Spec = new V1PodSpec { Containers = [container] } },
            },
        };
    }

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

        if (Quantities?.TryGet(text) is { } cached)
        {
            return cached;
        }

        if (!ResourceQuantity.TryParse(text, out _))
        {
            Problems.Add(new(path, text, "must be a Kubernetes quantity such as '500m', '2', '8Gi' (decimal suffixes k, M, G, T; binary Ki, Mi, Gi, Ti)"));
            return null;
        }

        var quantity = new k8s.Models.ResourceQuantity(text);
        Quantities?.Add(text, quantity);
        return quantity;
    }
}

/// <summary>One small, ordered part of turning a job into a Job spec.</summary>
internal interface IJobBuildStep
{
    /// <summary>Fills in this step's part of an empty Job.</summary>
    void Apply(JobBuildContext context);

    /// <summary>
    /// Fills in only what depends on the job (its config, per-job options, the trainer invocation) in a copy of
    /// <paramref name="template"/>, to which <see cref="Apply"/> already applied everything that depends on options.
    /// Together the two give exactly what <see cref="Apply"/> gives on an empty Job.
    /// </summary>
    void ApplyJobParts(JobBuildContext context, JobTemplate template);
}
