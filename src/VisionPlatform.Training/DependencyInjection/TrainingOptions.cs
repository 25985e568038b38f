using VisionPlatform.Training.Subprocess;

namespace VisionPlatform.Training;

/// <summary>
/// Root options, bound from the <c>Training</c> configuration section. Every setting is validated at start-up and
/// errors name the configuration key, for example <c>Training:Subprocess:MaxConcurrentRuns</c>.
/// </summary>
public sealed class TrainingOptions
{
    /// <summary>The configuration section these options are usually bound from.</summary>
    public const string SectionName = "Training";

    /// <summary>The executor new runs go to unless a request names another (default <c>subprocess</c>).</summary>
    public string DefaultExecutor { get; set; } = TrainingExecutorNames.Subprocess;

    /// <summary>How jobs are handed to the trainer, shared by all executors.</summary>
    public TrainerOptions Trainer { get; set; } = new();

    /// <summary>The local subprocess executor.</summary>
    public SubprocessExecutorOptions Subprocess { get; set; } = new();

    /// <summary>The job environment policy (<c>Training:Environment</c>): names an operator allows jobs to set.</summary>
    public TrainingEnvironmentOptions Environment { get; set; } = new();

    /// <summary>Where a start may go when the requested executor is unavailable (<c>Training:Fallback</c>).</summary>
    public TrainingFallbackOptions Fallback { get; set; } = new();

    /// <summary>The optional price table that turns GPU-hours and CPU-hours into money (<c>Training:Cost</c>).</summary>
    public TrainingCostOptions Cost { get; set; } = new();

    /// <summary>How executor availability is probed, cached and guarded by a circuit breaker (<c>Training:Availability</c>).</summary>
    public ExecutorAvailabilityOptions Availability { get; set; } = new();
}
