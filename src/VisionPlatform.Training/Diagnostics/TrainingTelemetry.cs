using System.Diagnostics;

namespace VisionPlatform.Training.Diagnostics;

/// <summary>
/// The names the SDK publishes telemetry under, so hosts can subscribe (for example
/// <c>builder.Services.AddOpenTelemetry().WithMetrics(m =&gt; m.AddMeter(TrainingTelemetry.MeterName))</c>).
/// Instrument names are dotted and lower case, in the style of OpenTelemetry semantic conventions.
/// </summary>
public static class TrainingTelemetry
{
    /// <summary>The name of the SDK's <see cref="System.Diagnostics.Metrics.Meter"/> and <see cref="ActivitySource"/>.</summary>
    public const string MeterName = "VisionPlatform.Training";

    /// <summary>The name of the SDK's <see cref="ActivitySource"/> (the same as <see cref="MeterName"/>).</summary>
    public const string ActivitySourceName = MeterName;

    /// <summary>Counter: runs started, tagged with <see cref="ExecutorTag"/> (the executor that runs them).</summary>
    public const string StartsInstrument = "training.starts";

    /// <summary>Counter: starts that ran on a fallback executor, tagged with <see cref="RequestedExecutorTag"/>, <see cref="ExecutorTag"/> and <see cref="ReasonTag"/>.</summary>
    public const string FallbacksInstrument = "training.fallbacks";

    /// <summary>Counter: starts that failed because no executor in the chain could take the job, tagged with <see cref="RequestedExecutorTag"/> and <see cref="ReasonTag"/>.</summary>
    public const string StartFailuresInstrument = "training.start_failures";

    /// <summary>Tag: the executor that runs (or would have run) the job.</summary>
    public const string ExecutorTag = "training.executor";

    /// <summary>Tag: the executor the request asked for (the default unless overridden).</summary>
    public const string RequestedExecutorTag = "training.executor.requested";

    /// <summary>Tag: a short machine-readable reason, for example <c>unavailable</c>, <c>circuit_open</c>, <c>timeout</c>.</summary>
    public const string ReasonTag = "training.reason";

    /// <summary>The SDK's activity source; spans are named after the operation, for example <c>training.start</c>.</summary>
    internal static ActivitySource ActivitySource { get; } = new(ActivitySourceName);
}
