using System.Collections.Concurrent;
using k8s;
using k8s.Models;
using VisionPlatform.Training.Storage;
using VisionPlatform.Training.Trainers;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Turns a <see cref="TrainingJobConfig"/> into a <c>batch/v1</c> Job, in small steps (metadata, job policy, container,
/// pod security, resources, volumes, environment, scheduling), then checks the result against the apiserver's
/// validation rules, so a Job it returns is one a cluster accepts. Thread-safe; create one per options instance.
/// </summary>
/// <remarks>
/// Everything that depends only on the options (per framework, with or without GPUs) is built and validated once, on
/// the first job of that kind, and copied for every later job; only the job's own parts (name, labels, annotations,
/// image override, arguments, environment, resources) are built and validated per job. The options are therefore
/// read once: changing the options object after the first build has no effect (create a new builder instead, as the
/// DI registration does for each options snapshot).
/// </remarks>
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
        new DistributionStep(),
    ];

    /// <summary>More templates than this (custom frameworks without end) are built per job instead of kept.</summary>
    private const int MaxTemplates = 64;

    private readonly ITrainerContract _contract;
    private readonly TrainerOptions? _trainer;
    private readonly IArtifactStore? _artifactStore;
    private readonly ConcurrentDictionary<(string Framework, bool UsesGpus), JobTemplate> _templates = new();
    private readonly QuantityCache _quantities = new();

    /// <summary>Creates a builder.</summary>
    /// <param name="options">The executor's options (image, resources, volumes, references, policies).</param>
    /// <param name="contract">The trainer contract: the same one the subprocess executor uses.</param>
    /// <param name="trainer">Shared trainer settings; only plain values (the MLflow URI) are used, never local storage keys.</param>
    public TrainingJobSpecBuilder(KubernetesExecutorOptions options, ITrainerContract contract, TrainerOptions? trainer = null)
        : this(options, contract, trainer, artifactStore: null)
    {
    }

    /// <summary>
    /// Creates a builder whose Jobs tell the trainer where its artifacts belong: with a store, every Job's trainer container
    /// gets the plain variables <see cref="ArtifactEnvironment.BucketVariable"/> (the store's bucket) and
    /// <see cref="ArtifactEnvironment.PrefixVariable"/> (<see cref="IArtifactStore.GetRunPrefix"/> of the job), the same
    /// ones the subprocess executor sets, and <see cref="ArtifactEnvironment.CheckpointUriVariable"/>
    /// (<see cref="ArtifactEnvironment.CheckpointUri"/>), where the trainer keeps checkpoints for a replacement pod to resume
    /// from after a disruption. <c>AddKubernetes</c> passes the registered <see cref="IArtifactStore"/>, if any.
    /// </summary>
    /// <param name="options">The executor's options (image, resources, volumes, references, policies).</param>
    /// <param name="contract">The trainer contract: the same one the subprocess executor uses.</param>
    /// <param name="trainer">Shared trainer settings; only plain values (the MLflow URI) are used, never local storage keys.</param>
    /// <param name="artifactStore">Where the runs' artifacts go; <see langword="null"/> sets none of these variables.</param>
    public TrainingJobSpecBuilder(KubernetesExecutorOptions options, ITrainerContract contract, TrainerOptions? trainer, IArtifactStore? artifactStore)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(contract);
        Options = options;
        _contract = contract;
        _trainer = trainer;
        _artifactStore = artifactStore;
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
        jobOptions ??= KubernetesJobOptions.None;
        var invocation = CreateInvocation(config);
        var job = TryBuildFromTemplate(config, jobOptions, invocation) ?? BuildFully(config, jobOptions, invocation);
        return TrainerConfigFile.Mount(job, invocation);
    }

    /// <summary>
    /// The ConfigMap that carries the trainer's config as a file when it is too large for one argument (the json-config
    /// contract's <c>--config @/etc/visionplatform/config/config.json</c>): named after the Job
    /// (<c>&lt;job-name&gt;-config</c>), data key <c>config.json</c>. The executor creates it with the Job and makes the Job
    /// its owner, so it is deleted with the Job; a dry run renders both (<see cref="ToYaml(V1Job, V1ConfigMap)"/>).
    /// </summary>
    /// <param name="config">The validated job, as passed to <see cref="Build"/>.</param>
    /// <param name="job">The Job <see cref="Build"/> returned for it.</param>
    /// <returns>The ConfigMap, or <see langword="null"/> when the config travels as an argument.</returns>
    /// <exception cref="TrainingValidationException">The config is larger than a ConfigMap carries (1 MiB).</exception>
    public V1ConfigMap? BuildConfigMap(TrainingJobConfig config, V1Job job)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(job);
        return TrainerConfigFile.CreateConfigMap(job, CreateInvocation(config));
    }

    /// <summary>
    /// The headless Service of a distributed (torchrun) job: named like the Job, <c>clusterIP: None</c>,
    /// <c>publishNotReadyAddresses: true</c>, selecting the Job's pods, so each pod resolves as
    /// <c>&lt;job&gt;-&lt;index&gt;.&lt;service&gt;</c> and every agent finds rank 0 at <c>&lt;job&gt;-0.&lt;service&gt;</c>.
    /// The executor creates it right after the Job, owned by the Job, so it is deleted with the Job; a dry run renders it
    /// after the Job (<see cref="ToYaml(V1Job, V1ConfigMap, V1Service)"/>).
    /// </summary>
    /// <param name="config">The validated job, as passed to <see cref="Build"/>.</param>
    /// <param name="job">The Job <see cref="Build"/> returned for it.</param>
    /// <returns>The Service, or <see langword="null"/> for a job of one pod.</returns>
    /// <exception cref="TrainingValidationException">The Service or the pods' hostnames would be rejected.</exception>
    public static V1Service? BuildService(TrainingJobConfig config, V1Job job)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(job);
        if (GroupService.For(config, job) is not { } service)
        {
            return null;
        }

        var problems = GroupService.Validate(service, job).ToList();
        return problems.Count > 0
            ? throw new TrainingValidationException(problems) { ExecutorName = KubernetesExecutorInfo.ExecutorName, JobId = config.JobId }
            : service;
    }

    private TrainerInvocation CreateInvocation(TrainingJobConfig config)
    {
        var invocation = _contract.CreateInvocation(config, new TrainerLaunchContext { OutputDirectory = Options.OutputDirectory, ConfigFilePath = TrainerConfigFile.FilePath });
        TrainerConfigFile.EnsureFits(config, invocation);
        return invocation;
    }

    /// <summary>
    /// Builds without templates: every step on an empty Job, then the whole Job validated. <see cref="Build"/> must
    /// return the same Job and throw the same problems; the tests hold it to that.
    /// </summary>
    internal V1Job BuildFromScratch(TrainingJobConfig config, KubernetesJobOptions? jobOptions = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var invocation = CreateInvocation(config);
        return TrainerConfigFile.Mount(BuildFully(config, jobOptions ?? KubernetesJobOptions.None, invocation), invocation);
    }

    /// <summary>
    /// The fast path: a copy of the validated template with the job's parts filled in and validated. Returns
    /// <see langword="null"/> when the template or the job's parts have any problem, so that the full build reports
    /// every problem, in the same words and order as always.
    /// </summary>
    private V1Job? TryBuildFromTemplate(TrainingJobConfig config, KubernetesJobOptions jobOptions, TrainerInvocation invocation)
    {
        // A launcher changes the job policy, command and environment per job: such Jobs are built and validated whole.
        if (config.Launcher != TrainingLauncher.Direct)
        {
            return null;
        }

        var template = TemplateFor(config.Framework.Value, config.Resources.Gpus > 0);
        if (!template.IsValid)
        {
            return null;
        }

        var context = new JobBuildContext(config, Options, jobOptions, invocation, _trainer, template.CreateJob()) { Quantities = _quantities, ArtifactVariables = ArtifactVariables(config) };
        foreach (var step in Steps)
        {
            step.ApplyJobParts(context, template);
        }

        return context.Problems.Count == 0 && KubernetesJobValidator.ValidateJobParts(context.Job).Count == 0 ? context.Job : null;
    }

    /// <summary>The full path: every step from an empty Job, then the whole Job validated.</summary>
    private V1Job BuildFully(TrainingJobConfig config, KubernetesJobOptions jobOptions, TrainerInvocation invocation)
    {
        var context = new JobBuildContext(config, Options, jobOptions, invocation, _trainer) { Quantities = _quantities, ArtifactVariables = ArtifactVariables(config) };
        foreach (var step in Steps)
        {
            step.Apply(context);
        }

        var problems = context.Problems.Concat(KubernetesJobValidator.Validate(context.Job)).ToList();
        if (problems.Count > 0)
        {
            throw new TrainingValidationException(problems) { ExecutorName = KubernetesExecutorInfo.ExecutorName, JobId = config.JobId };
        }

        return context.Job;
    }

    /// <summary>
    /// The run's artifact location for the trainer (per job: the prefix holds the job id) and its checkpoint location, from
    /// which a replacement pod resumes after a disruption; none without a store.
    /// </summary>
    private Dictionary<string, string>? ArtifactVariables(TrainingJobConfig config)
    {
        if (_artifactStore is null)
        {
            return null;
        }

        return new Dictionary<string, string>(ArtifactEnvironment.ForRun(_artifactStore, config.JobId), StringComparer.Ordinal)
        {
            [ArtifactEnvironment.CheckpointUriVariable] = ArtifactEnvironment.CheckpointUri(_artifactStore, config.JobId),
        };
    }

    private JobTemplate TemplateFor(string framework, bool usesGpus)
    {
        var key = (framework, usesGpus);
        if (_templates.TryGetValue(key, out var template))
        {
            return template;
        }

        template = JobTemplate.Create(Steps, Options, framework, usesGpus, _trainer, _quantities);
        if (_templates.Count < MaxTemplates)
        {
            template = _templates.GetOrAdd(key, template);
        }

        return template;
    }

    /// <summary>Serialises a Job as YAML (<c>kubectl apply -f</c> compatible), for review and dry runs.</summary>
    /// <param name="job">The Job.</param>
    /// <returns>The YAML text.</returns>
    public static string ToYaml(V1Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return KubernetesYaml.Serialize(job);
    }

    /// <summary>
    /// Serialises a Job and, when the trainer's config travels as a file, its ConfigMap (first) as one multi-document
    /// YAML (<c>kubectl apply -f</c> compatible), for review and dry runs.
    /// </summary>
    /// <param name="job">The Job.</param>
    /// <param name="configMap">The ConfigMap from <see cref="BuildConfigMap"/>, or <see langword="null"/>.</param>
    /// <returns>The YAML text.</returns>
    public static string ToYaml(V1Job job, V1ConfigMap? configMap)
    {
        ArgumentNullException.ThrowIfNull(job);
        return configMap is null ? KubernetesYaml.Serialize(job) : KubernetesYaml.Serialize(configMap).TrimEnd('\n') + "\n---\n" + KubernetesYaml.Serialize(job);
    }

    /// <summary>
    /// Serialises everything a start creates, in the order it creates them, as one multi-document YAML
    /// (<c>kubectl apply -f</c> compatible): the ConfigMap (when the config travels as a file), the Job, then the headless
    /// Service of a distributed job. Without a ConfigMap and a Service it is exactly <see cref="ToYaml(V1Job)"/>.
    /// </summary>
    /// <param name="job">The Job.</param>
    /// <param name="configMap">The ConfigMap from <see cref="BuildConfigMap"/>, or <see langword="null"/>.</param>
    /// <param name="service">The Service from <see cref="BuildService"/>, or <see langword="null"/>.</param>
    /// <returns>The YAML text.</returns>
    public static string ToYaml(V1Job job, V1ConfigMap? configMap, V1Service? service)
    {
        var yaml = ToYaml(job, configMap);
        return service is null ? yaml : yaml.TrimEnd('\n') + "\n---\n" + KubernetesYaml.Serialize(service);
    }
}
