namespace VisionPlatform.Training.Trainers;

/// <summary>
/// Turns a job into the trainer's command line and environment. Both executors use the same contract, so a job
/// reaches the trainer the same way locally and on Kubernetes. Replace it to support another trainer generation.
/// </summary>
public interface ITrainerContract
{
    /// <summary>The contract's name, as used in <c>Training:Trainer:Contract</c>.</summary>
    string Name { get; }

    /// <summary>Builds the argument list and environment for one job.</summary>
    /// <param name="config">The job.</param>
    /// <param name="context">Where the run happens.</param>
    /// <returns>The invocation.</returns>
    TrainerInvocation CreateInvocation(TrainingJobConfig config, TrainerLaunchContext context);
}
