namespace VisionPlatform.Training;

/// <summary>
/// Records that an executor with this name is registered (as a keyed <see cref="ITrainingExecutor"/> singleton).
/// Routing asks executors in registration order when it looks a run up by job id alone.
/// </summary>
/// <param name="Name">The executor's name.</param>
public sealed record TrainingExecutorRegistration(string Name);
