using System.Buffers;
using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text.Json;

namespace VisionPlatform.Training;

/// <summary>
/// A validated, immutable description of one training (or evaluation, inference, export) job.
/// Create it with <see cref="TrainingJobConfigBuilder"/>; every instance has passed validation.
/// </summary>
public sealed class TrainingJobConfig
{
    private string? _hash;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_hashBuffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_hashWriter;

    internal TrainingJobConfig(TrainingJobConfigBuilder b)
    {
        JobId = b.JobId!;
        JobType = b.JobType;
        Framework = b.Framework;
        TaskType = b.TaskType!;
        ModelName = b.ModelName!;
        DatasetPath = b.DatasetPath!;
        DatasetFormat = b.DatasetFormat!;
        Epochs = b.Epochs;
        BatchSize = b.BatchSize;
        LearningRate = b.LearningRate;
        Optimizer = b.Optimizer;
        NumClasses = b.NumClasses;
        ProjectId = b.ProjectId;
        ImageSize = b.ImageSize;
        Pretrained = b.Pretrained;
        CheckpointPath = b.CheckpointPath;
        Resume = b.Resume;
        CallbackUrl = b.CallbackUrl;
        AdvancedConfig = b.AdvancedConfig;
        Resources = b.Resources ?? TrainingResources.None;
        Environment = b.Environment.ToFrozenDictionary(StringComparer.Ordinal);
        Labels = b.Labels.ToFrozenDictionary(StringComparer.Ordinal);
        Distribution = b.Distribution;
        Nodes = Distribution?.Nodes ?? 1;
        ProcessesPerNode = DistributionRules.ProcessesPerNode(Distribution, Resources);
        Launcher = DistributionRules.Launcher(Framework, Nodes * ProcessesPerNode);
    }

    /// <summary>The caller's job id. Unique per executor: starting the same id twice never runs it twice.</summary>
    public string JobId { get; }

    /// <summary>What the job does.</summary>
    public TrainingJobType JobType { get; }

    /// <summary>The training framework, for example <see cref="TrainingFramework.Ultralytics"/>.</summary>
    public TrainingFramework Framework { get; }

    /// <summary>The task, for example <c>object_detection</c> or <c>classification</c>.</summary>
    public string TaskType { get; }

    /// <summary>The model, for example <c>yolo11n</c> or <c>resnet50</c>.</summary>
    public string ModelName { get; }

    /// <summary>Where the dataset is: an object-storage key, a path or an id.</summary>
    public string DatasetPath { get; }

    /// <summary>The dataset's format, for example <c>yolo</c>, <c>coco</c> or <c>imagefolder</c>.</summary>
    public string DatasetFormat { get; }

    /// <summary>Number of epochs.</summary>
    public int Epochs { get; }

    /// <summary>Batch size.</summary>
    public int BatchSize { get; }

    /// <summary>Learning rate.</summary>
    public double LearningRate { get; }

    /// <summary>Optimizer name (default <c>adam</c>).</summary>
    public string Optimizer { get; }

    /// <summary>Number of classes, when the task needs it.</summary>
    public int? NumClasses { get; }

    /// <summary>The platform's project id.</summary>
    public string? ProjectId { get; }

    /// <summary>Input image size in pixels.</summary>
    public int? ImageSize { get; }

    /// <summary>Start from pretrained weights.</summary>
    public bool Pretrained { get; }

    /// <summary>A checkpoint to start from or resume.</summary>
    public string? CheckpointPath { get; }

    /// <summary>Resume training from <see cref="CheckpointPath"/>.</summary>
    public bool Resume { get; }

    /// <summary>Where the trainer reports progress, when the platform uses callbacks.</summary>
    public Uri? CallbackUrl { get; }

    /// <summary>
    /// Framework-specific settings: the exact text of one JSON object, passed to the trainer verbatim, with the
    /// library's resume setting appended when the run resumes (<see cref="Trainers.FrameworkResume.GetTrainerAdvancedConfig"/>).
    /// </summary>
    public string? AdvancedConfig { get; }

    /// <summary>Requested compute resources.</summary>
    public TrainingResources Resources { get; }

    /// <summary>Extra, non-secret environment variables for the trainer.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; }

    /// <summary>Labels for finding and grouping runs (Kubernetes label syntax).</summary>
    public IReadOnlyDictionary<string, string> Labels { get; }

    /// <summary>
    /// How the job spreads over nodes and processes, or <see langword="null"/> for one trainer process that sees all of
    /// the job's GPUs (the 1.0 behaviour).
    /// </summary>
    public TrainingDistribution? Distribution { get; }

    /// <summary>The machines (Kubernetes pods) the job runs on: <see cref="TrainingDistribution.Nodes"/>, or 1.</summary>
    public int Nodes { get; }

    /// <summary>
    /// The training processes each node runs: 1 without a <see cref="Distribution"/>; with one,
    /// <see cref="TrainingDistribution.ProcessesPerNode"/> when set, else the GPUs per node
    /// (<see cref="TrainingResources.Gpus"/>), else 1.
    /// </summary>
    public int ProcessesPerNode { get; }

    /// <summary>The number of training processes in the whole group: nodes times processes per node.</summary>
    public int WorldSize => Nodes * ProcessesPerNode;

    /// <summary>Whether the job runs as a group of more than one process (<see cref="WorldSize"/> greater than 1).</summary>
    public bool IsDistributed => WorldSize > 1;

    /// <summary>How executors start the job's processes; follows from the framework and the world size.</summary>
    public TrainingLauncher Launcher { get; }

    /// <summary>
    /// A stable SHA-256 (lower-case hex) over every field. Two configs with the same hash describe the same job;
    /// executors use it to tell an idempotent repeat of a start from a conflicting one.
    /// </summary>
    public string ConfigHash => _hash ??= ComputeHash();

    /// <summary>Returns a builder initialised with this config's values, to derive a modified config.</summary>
    public TrainingJobConfigBuilder ToBuilder() => new(this);

    /// <summary>A short description without environment values.</summary>
    public override string ToString() =>
        $"TrainingJobConfig {{ JobId = {JobId}, JobType = {JobType}, Framework = {Framework}, ModelName = {ModelName}, Epochs = {Epochs}, Gpus = {Resources.Gpus}, Nodes = {Nodes}, ProcessesPerNode = {ProcessesPerNode} }}";

    private string ComputeHash()
    {
        // One buffer and writer per thread: a start hashes its config once, and this keeps that to the hex string's
        // allocation (a fresh stream, writer and sorted copies were 6.6 KB and most of the hash's 8 us). The bytes hashed
        // are unchanged, so the config-hash annotation of an existing Job still matches (TrainingJobConfigHashTests).
        var buffer = t_hashBuffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        var w = t_hashWriter ??= new Utf8JsonWriter(buffer);
        w.Reset(buffer);
        {
            w.WriteStartObject();
            w.WriteString("jobId", JobId);
            w.WriteString("jobType", JobType.ToString());
            w.WriteString("framework", Framework.Value);
            w.WriteString("taskType", TaskType);
            w.WriteString("modelName", ModelName);
            w.WriteString("datasetPath", DatasetPath);
            w.WriteString("datasetFormat", DatasetFormat);
            w.WriteNumber("epochs", Epochs);
            w.WriteNumber("batchSize", BatchSize);
            w.WriteString("learningRate", LearningRate.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("optimizer", Optimizer);
            WriteOptional(w, "numClasses", NumClasses);
            w.WriteString("projectId", ProjectId);
            WriteOptional(w, "imageSize", ImageSize);
            w.WriteBoolean("pretrained", Pretrained);
            w.WriteString("checkpointPath", CheckpointPath);
            w.WriteBoolean("resume", Resume);
            w.WriteString("callbackUrl", CallbackUrl?.OriginalString);
            w.WriteString("advancedConfig", AdvancedConfig);
            w.WriteNumber("gpus", Resources.Gpus);
            w.WriteString("cpuRequest", Resources.CpuRequest);
            w.WriteString("cpuLimit", Resources.CpuLimit);
            w.WriteString("memoryRequest", Resources.MemoryRequest);
            w.WriteString("memoryLimit", Resources.MemoryLimit);
            WriteMap(w, "environment", Environment);
            WriteMap(w, "labels", Labels);
            if (IsDistributed)
            {
                // Written only for groups, so a single-process config keeps the hash existing Jobs were annotated with.
                w.WriteNumber("nodes", Nodes);
                w.WriteNumber("processesPerNode", ProcessesPerNode);
            }

            w.WriteEndObject();
            w.Flush();
        }

        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(buffer.WrittenSpan, hash);
        if (buffer.Capacity > 64 * 1024)
        {
            // A config with a very large AdvancedConfig: do not keep its buffer alive on this thread.
            t_hashBuffer = null;
            t_hashWriter = null;
        }

        return Convert.ToHexStringLower(hash);
    }

    private static void WriteOptional(Utf8JsonWriter w, string name, int? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static void WriteMap(Utf8JsonWriter w, string name, IReadOnlyDictionary<string, string> map)
    {
        w.WriteStartObject(name);
        if (map.Count > 0)
        {
            var keys = new string[map.Count];
            var i = 0;
            foreach (var key in map.Keys)
            {
                keys[i++] = key;
            }

            Array.Sort(keys, StringComparer.Ordinal);
            foreach (var key in keys)
            {
                w.WriteString(key, map[key]);
            }
        }

        w.WriteEndObject();
    }
}
