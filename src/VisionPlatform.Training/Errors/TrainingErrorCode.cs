namespace VisionPlatform.Training;

/// <summary>
/// A machine-readable error code carried by every <see cref="TrainingException"/>.
/// Extensible: executors may define their own codes; compare with <c>==</c>.
/// </summary>
public readonly record struct TrainingErrorCode
{
    /// <summary>Creates a code from its string value.</summary>
    /// <param name="value">The code, for example <c>ValidationFailed</c>.</param>
    public TrainingErrorCode(string value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value);
        Value = value;
    }

    /// <summary>The code's string value.</summary>
    public string Value { get; }

    /// <summary>The job configuration or a request broke a validation rule. Nothing was started.</summary>
    public static TrainingErrorCode ValidationFailed { get; } = new("ValidationFailed");

    /// <summary>A run with the same job id already exists with a different configuration.</summary>
    public static TrainingErrorCode JobConflict { get; } = new("JobConflict");

    /// <summary>The run is not known to the executor.</summary>
    public static TrainingErrorCode RunNotFound { get; } = new("RunNotFound");

    /// <summary>The executor cannot accept work now (cluster unreachable, not configured, breaker open).</summary>
    public static TrainingErrorCode ExecutorUnavailable { get; } = new("ExecutorUnavailable");

    /// <summary>No executor with the requested name is registered.</summary>
    public static TrainingErrorCode UnknownExecutor { get; } = new("UnknownExecutor");

    /// <summary>The job cannot run on the chosen executor (for example it needs more GPUs than the host has).</summary>
    public static TrainingErrorCode Unschedulable { get; } = new("Unschedulable");

    /// <summary>The caller is not allowed to perform the operation (for example Kubernetes RBAC).</summary>
    public static TrainingErrorCode Forbidden { get; } = new("Forbidden");

    /// <summary>The executor's backend rejected the request as invalid (for example a Kubernetes 422).</summary>
    public static TrainingErrorCode Rejected { get; } = new("Rejected");

    /// <summary>An object-storage bucket or object (a run's artifact) does not exist.</summary>
    public static TrainingErrorCode ArtifactNotFound { get; } = new("ArtifactNotFound");

    /// <summary>An unexpected failure in the executor's backend.</summary>
    public static TrainingErrorCode ExecutorFailure { get; } = new("ExecutorFailure");

    /// <summary>
    /// A state-changing request was sent to the executor's backend but never answered (it timed out or the connection broke
    /// mid-request), so the backend may still apply it. Routing never moves such a start to another executor; it only
    /// repeats the start on the same executor, which is idempotent per job id.
    /// </summary>
    public static TrainingErrorCode OutcomeUnknown { get; } = new("OutcomeUnknown");

    /// <summary>An event subscriber fell behind and its subscription was ended (<see cref="TrainingEventOverflowPolicy.Disconnect"/>).</summary>
    public static TrainingErrorCode SubscriberOverflow { get; } = new("SubscriberOverflow");

    /// <summary>
    /// The executor's queue of waiting runs is full (for example <c>Training:Subprocess:MaxQueuedRuns</c> runs are
    /// Pending). Nothing was created; try again when runs have started or finished.
    /// </summary>
    public static TrainingErrorCode QueueFull { get; } = new("QueueFull");

    /// <summary>
    /// A new event subscription was refused because the host already has as many as it allows
    /// (<c>Training:Events:MaxSubscribers</c>, <see cref="TrainingEventOptions.MaxSubscribers"/>).
    /// </summary>
    public static TrainingErrorCode SubscriberLimitReached { get; } = new("SubscriberLimitReached");

    /// <summary>Returns the code's string value.</summary>
    public override string ToString() => Value ?? string.Empty;
}
