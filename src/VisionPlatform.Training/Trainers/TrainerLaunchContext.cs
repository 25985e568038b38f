namespace VisionPlatform.Training.Trainers;

/// <summary>What an executor knows about where a run happens, which the contract turns into arguments.</summary>
public sealed record TrainerLaunchContext
{
    /// <summary>Where the trainer writes checkpoints and results (a run directory locally, <c>/workspace/output</c> in a container).</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>
    /// Where a config too large for one process argument may be written (in the run directory); <see langword="null"/>
    /// when the executor cannot pass files, and then such a config is refused with a validation error naming the limit.
    /// </summary>
    public string? ConfigFilePath { get; init; }
}
