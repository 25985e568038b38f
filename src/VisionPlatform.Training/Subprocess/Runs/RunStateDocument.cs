using System.Text.Json.Serialization;

namespace VisionPlatform.Training.Subprocess.Runs;

/// <summary>
/// The persisted state of one run (<c>state.json</c> in its run directory). It holds everything needed to list the
/// run, rebuild its job and recognise its process after a host restart. It never holds secret values.
/// </summary>
internal sealed class RunStateDocument
{
    /// <summary>The document format version.</summary>
    public int Version { get; set; } = 1;

    /// <summary>The caller's job id.</summary>
    public string JobId { get; set; } = "";

    /// <summary>The executor that owns the run.</summary>
    public string Executor { get; set; } = "";

    /// <summary>The job's <see cref="TrainingJobConfig.ConfigHash"/>.</summary>
    public string ConfigHash { get; set; } = "";

    /// <summary>The complete job, so listing can filter and a queued run can start after a host restart.</summary>
    public ConfigDocument Config { get; set; } = new();

    /// <summary>The phase.</summary>
    public TrainingPhase Phase { get; set; }

    /// <summary>The reason, one of <see cref="TrainingStatusReasons"/>.</summary>
    public string Reason { get; set; } = "";

    /// <summary>A human-readable explanation.</summary>
    public string? Message { get; set; }

    /// <summary>When the executor accepted the run.</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When the trainer was launched.</summary>
    public DateTimeOffset? StartedAt { get; set; }

    /// <summary>When the run became terminal.</summary>
    public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>The trainer's pid (also its process group and session id).</summary>
    public int? Pid { get; set; }

    /// <summary>The trainer's start time: field 22 of <c>/proc/&lt;pid&gt;/stat</c>.</summary>
    public long? ProcessStartTicks { get; set; }

    /// <summary>The kernel boot id at launch.</summary>
    public string? BootId { get; set; }

    /// <summary>The run's marker (<c>VP_RUN_MARKER</c> in its processes' environment), proof that a process is the run's.</summary>
    public string? RunMarker { get; set; }

    /// <summary>The GPU indices handed to the run (its <c>CUDA_VISIBLE_DEVICES</c>).</summary>
    public int[] Gpus { get; set; } = [];

    /// <summary>The exit code (128 + signal when a signal killed it), when observed.</summary>
    public int? ExitCode { get; set; }

    /// <summary>The signal that killed the trainer, when one did.</summary>
    public int? Signal { get; set; }

    /// <summary>Whether a stop was requested (so an exit after it means Stopped, also for another host).</summary>
    public bool StopRequested { get; set; }

    /// <summary>
    /// The upload of the run's outputs to object storage; <see langword="null"/> when the run is not uploaded. Set to
    /// Pending when the run is created with storage configured, so an upload that a restart interrupted is found again.
    /// </summary>
    public ArtifactUploadStatus? ArtifactUpload { get; set; }

    /// <summary>A copy for publishing to readers while the original keeps changing.</summary>
    public RunStateDocument Clone()
    {
        var copy = (RunStateDocument)MemberwiseClone();
        copy.Gpus = (int[])Gpus.Clone();
        return copy;
    }
}

/// <summary>Every field of a <see cref="TrainingJobConfig"/>, as persisted in <c>state.json</c>.</summary>
internal sealed class ConfigDocument
{
    public string JobId { get; set; } = "";

    public TrainingJobType JobType { get; set; }

    public string Framework { get; set; } = "";

    public string TaskType { get; set; } = "";

    public string ModelName { get; set; } = "";

    public string DatasetPath { get; set; } = "";

    public string DatasetFormat { get; set; } = "";

    public int Epochs { get; set; }

    public int BatchSize { get; set; }

    public double LearningRate { get; set; }

    public string Optimizer { get; set; } = "";

    public int? NumClasses { get; set; }

    public string? ProjectId { get; set; }

    public int? ImageSize { get; set; }

    public bool Pretrained { get; set; }

    public string? CheckpointPath { get; set; }

    public bool Resume { get; set; }

    public string? CallbackUrl { get; set; }

    public string? AdvancedConfig { get; set; }

    public int Gpus { get; set; }

    public string? CpuRequest { get; set; }

    public string? CpuLimit { get; set; }

    public string? MemoryRequest { get; set; }

    public string? MemoryLimit { get; set; }

    public Dictionary<string, string> Environment { get; set; } = [];

    public Dictionary<string, string> Labels { get; set; } = [];

    public static ConfigDocument From(TrainingJobConfig c) => new()
    {
        JobId = c.JobId,
        JobType = c.JobType,
        Framework = c.Framework.Value,
        TaskType = c.TaskType,
        ModelName = c.ModelName,
        DatasetPath = c.DatasetPath,
        DatasetFormat = c.DatasetFormat,
        Epochs = c.Epochs,
        BatchSize = c.BatchSize,
        LearningRate = c.LearningRate,
        Optimizer = c.Optimizer,
        NumClasses = c.NumClasses,
        ProjectId = c.ProjectId,
        ImageSize = c.ImageSize,
        Pretrained = c.Pretrained,
        CheckpointPath = c.CheckpointPath,
        Resume = c.Resume,
        CallbackUrl = c.CallbackUrl?.OriginalString,
        AdvancedConfig = c.AdvancedConfig,
        Gpus = c.Resources.Gpus,
        CpuRequest = c.Resources.CpuRequest,
        CpuLimit = c.Resources.CpuLimit,
        MemoryRequest = c.Resources.MemoryRequest,
        MemoryLimit = c.Resources.MemoryLimit,
        Environment = new Dictionary<string, string>(c.Environment, StringComparer.Ordinal),
        Labels = new Dictionary<string, string>(c.Labels, StringComparer.Ordinal),
    };

    /// <summary>Rebuilds (and re-validates) the job.</summary>
    /// <param name="policy">The operator's job environment policy.</param>
    public TrainingJobConfig ToConfig(TrainingEnvironmentPolicy policy) => new TrainingJobConfigBuilder
    {
        EnvironmentPolicy = policy,
        JobId = JobId,
        JobType = JobType,
        Framework = Framework,
        TaskType = TaskType,
        ModelName = ModelName,
        DatasetPath = DatasetPath,
        DatasetFormat = DatasetFormat,
        Epochs = Epochs,
        BatchSize = BatchSize,
        LearningRate = LearningRate,
        Optimizer = Optimizer,
        NumClasses = NumClasses,
        ProjectId = ProjectId,
        ImageSize = ImageSize,
        Pretrained = Pretrained,
        CheckpointPath = CheckpointPath,
        Resume = Resume,
        CallbackUrl = CallbackUrl is null ? null : new Uri(CallbackUrl, UriKind.RelativeOrAbsolute),
        AdvancedConfig = AdvancedConfig,
        Resources = new TrainingResources
        {
            Gpus = Gpus,
            CpuRequest = CpuRequest,
            CpuLimit = CpuLimit,
            MemoryRequest = MemoryRequest,
            MemoryLimit = MemoryLimit,
        },
        Environment = new Dictionary<string, string>(Environment, StringComparer.Ordinal),
        Labels = new Dictionary<string, string>(Labels, StringComparer.Ordinal),
    }.Build();
}

/// <summary>Source-generated JSON for the run state (no reflection, trimming-safe).</summary>
[JsonSourceGenerationOptions(
    WriteIndented = true,
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UseStringEnumConverter = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(RunStateDocument))]
internal sealed partial class RunStateJsonContext : JsonSerializerContext;
