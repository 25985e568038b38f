namespace VisionPlatform.Training.Trainers;

/// <summary>What an executor knows about where a run happens, which the contract turns into arguments.</summary>
public sealed record TrainerLaunchContext
{
    /// <summary>Where the trainer writes checkpoints and results (a run directory locally, <c>/workspace/output</c> in a container).</summary>
    public required string OutputDirectory { get; init; }
}
