namespace VisionPlatform.Training;

/// <summary>
/// How a job spreads over machines and processes: <see cref="Nodes"/> machines (Kubernetes pods), each running
/// <see cref="ProcessesPerNode"/> training processes that form one distributed group. The default is one node with one
/// process per GPU (<see cref="TrainingResources.Gpus"/> is per node), or a single process for a CPU-only job.
/// </summary>
/// <remarks>
/// The launcher follows from the framework (<see cref="TrainingJobConfig.Launcher"/>): torchrun for PyTorch, timm,
/// Hugging Face and custom frameworks; ultralytics starts its own DDP workers from a device list and runs on one node only.
/// </remarks>
public sealed record TrainingDistribution
{
    /// <summary>Most nodes one job may span.</summary>
    public const int MaxNodes = 64;

    /// <summary>Most training processes one node may run.</summary>
    public const int MaxProcessesPerNode = 64;

    /// <summary>One node; processes per node from the GPUs (the default).</summary>
    public static TrainingDistribution SingleNode { get; } = new();

    /// <summary>Machines (Kubernetes pods) in the group, 1 to <see cref="MaxNodes"/> (default 1).</summary>
    public int Nodes { get; init; } = 1;

    /// <summary>
    /// Training processes per node, 1 to <see cref="MaxProcessesPerNode"/>; at most <see cref="TrainingResources.Gpus"/>
    /// when the job has GPUs (one process per GPU). When not set: the GPUs per node, or 1 for a CPU-only job.
    /// </summary>
    public int? ProcessesPerNode { get; init; }
}
