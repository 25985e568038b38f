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

    /// <summary>
    /// The executor new runs go to unless a request names another. Required, and it must name a registered executor
    /// (for example <c>subprocess</c> after <c>.AddSubprocess()</c>); checked at start-up.
    /// </summary>
    public string DefaultExecutor { get; set; } = string.Empty;

    /// <summary>How jobs are handed to the trainer, shared by all executors.</summary>
    public TrainerOptions Trainer { get; set; } = new();

    /// <summary>The local subprocess executor (<c>Training:Subprocess</c>), used when <c>.AddSubprocess()</c> registers it.</summary>
    public SubprocessExecutorOptions Subprocess { get; set; } = new();

    /// <summary>The job environment policy (<c>Training:Environment</c>): names an operator allows jobs to set.</summary>
    public TrainingEnvironmentOptions Environment { get; set; } = new();

    /// <summary>Where a start may go when the requested executor is unavailable (<c>Training:Fallback</c>).</summary>
    public TrainingFallbackOptions Fallback { get; set; } = new();

    /// <summary>The optional price table that turns GPU-hours and CPU-hours into money (<c>Training:Cost</c>).</summary>
    public TrainingCostOptions Cost { get; set; } = new();

    /// <summary>Limits of the event hub: subscribers and buffered bytes per subscriber (<c>Training:Events</c>).</summary>
    public TrainingEventOptions Events { get; set; } = new();

    /// <summary>How executor availability is probed, cached and guarded by a circuit breaker (<c>Training:Availability</c>).</summary>
    public ExecutorAvailabilityOptions Availability { get; set; } = new();
}
