namespace VisionPlatform.Training;

/// <summary>
/// Implemented by executors that can tell, without starting anything, whether a job fits them (for example the
/// subprocess executor: GPUs requested ≤ GPUs the host has). Routing asks before it moves a job to a fallback
/// executor, so a GPU job never silently becomes a CPU run.
/// </summary>
public interface ITrainingExecutorPlacement
{
    /// <summary>Checks whether the job can run on this executor.</summary>
    /// <param name="config">The job.</param>
    /// <returns>Whether it fits, and why not.</returns>
    TrainingPlacement CheckPlacement(TrainingJobConfig config);
}

/// <summary>Whether a job fits an executor.</summary>
/// <param name="Fits">Whether the executor can run the job.</param>
/// <param name="Reason">Why not (names the resource or feature and what the executor has), or <see langword="null"/> when it fits.</param>
public sealed record TrainingPlacement(bool Fits, string? Reason)
{
    /// <summary>The job fits.</summary>
    public static TrainingPlacement Fit { get; } = new(true, null);

    /// <summary>The job does not fit.</summary>
    /// <param name="reason">Why, for example <c>the job requests 2 GPUs but this host has 0 (Training:Subprocess:Gpus)</c>.</param>
    /// <returns>The placement.</returns>
    public static TrainingPlacement DoesNotFit(string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        return new(false, reason);
    }
}
