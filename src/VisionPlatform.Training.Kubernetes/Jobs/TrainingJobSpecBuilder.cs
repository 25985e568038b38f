using k8s;
using k8s.Models;
using VisionPlatform.Training.Trainers;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Turns a <see cref="TrainingJobConfig"/> into a <c>batch/v1</c> Job, in small steps (metadata, job policy, container,
/// pod security, resources, volumes, environment, scheduling), then checks the result against the apiserver's
/// validation rules, so a Job it returns is one a cluster accepts. Thread-safe; create one per options instance.
/// </summary>
/// <example>
/// <code>
/// var builder = new TrainingJobSpecBuilder(new KubernetesExecutorOptions(), new FlagTrainerContract());
/// V1Job job = builder.Build(config);
/// Console.WriteLine(TrainingJobSpecBuilder.ToYaml(job));   // review or dry run
/// </code>
/// </example>
public sealed class TrainingJobSpecBuilder
{
    /// <summary>The name of the trainer container in every Job.</summary>
    public const string ContainerName = "trainer";

    private static readonly IJobBuildStep[] Steps =
    [
        new MetadataStep(),
        new JobPolicyStep(),
        new ContainerStep(),
        new PodSecurityStep(),
        new ResourcesStep(),
        new VolumesStep(),
        new EnvironmentStep(),
        new SchedulingStep(),
    ];

    private readonly ITrainerContract _contract;
    private readonly TrainerOptions? _trainer;

    /// <summary>Creates a builder.</summary>
    /// <param name="options">The executor's options (image, resources, volumes, references, policies).</param>
    /// <param name="contract">The trainer contract: the same one the subprocess executor uses.</param>
    /// <param name="trainer">Shared trainer settings; only plain values (the MLflow URI) are used, never local storage keys.</param>
    public TrainingJobSpecBuilder(KubernetesExecutorOptions options, ITrainerContract contract, TrainerOptions? trainer = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(contract);
        Options = options;
        _contract = contract;
        _trainer = trainer;
    }

    /// <summary>The options the builder uses.</summary>
    public KubernetesExecutorOptions Options { get; }

    /// <summary>Builds and validates the Job for a job.</summary>
    /// <param name="config">The validated job.</param>
    /// <param name="jobOptions">Per-job Kubernetes settings (a custom image); <see langword="null"/> for none.</param>
    /// <returns>The Job, with <c>apiVersion</c> and <c>kind</c> set.</returns>
    /// <exception cref="TrainingValidationException">
    /// The Job would be rejected by the apiserver (or collides with the executor's own labels); every problem is
    /// listed with its Kubernetes field path, for example <c>spec.template.spec.containers[0].resources.limits[nvidia.com/gpu]</c>.
    /// </exception>
    public V1Job Build(TrainingJobConfig config, KubernetesJobOptions? jobOptions = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var invocation = _contract.CreateInvocation(config, new TrainerLaunchContext { OutputDirectory = Options.OutputDirectory });
        var context = new JobBuildContext(config, Options, jobOptions ?? KubernetesJobOptions.None, invocation, _trainer);
        foreach (var step in Steps)
        {
            step.Apply(context);
        }

        var problems = context.Problems.Concat(KubernetesJobValidator.Validate(context.Job)).ToList();
        if (problems.Count > 0)
        {
            throw new TrainingValidationException(problems) { ExecutorName = TrainingExecutorNames.Kubernetes, JobId = config.JobId };
        }

        return context.Job;
    }

    /// <summary>Serialises a Job as YAML (<c>kubectl apply -f</c> compatible), for review and dry runs.</summary>
    /// <param name="job">The Job.</param>
    /// <returns>The YAML text.</returns>
    public static string ToYaml(V1Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return KubernetesYaml.Serialize(job);
    }
}
