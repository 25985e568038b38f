namespace VisionPlatform.Training.Testing;

/// <summary>
/// A job that passes <see cref="TrainingJobConfigBuilder.Build"/> but that the executor under test must refuse in
/// <see cref="ITrainingExecutor.StartAsync"/> with a <see cref="TrainingValidationException"/> before it starts anything,
/// for example more GPUs than the host or the executor's options allow.
/// </summary>
/// <param name="Config">The job.</param>
/// <param name="Field">The field the exception must name (<see cref="TrainingValidationError.Field"/>), for example <c>Resources.Gpus</c>.</param>
public sealed record ConformanceRejectedJob(TrainingJobConfig Config, string Field);
