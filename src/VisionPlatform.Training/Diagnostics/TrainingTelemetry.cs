using System.Diagnostics;

namespace VisionPlatform.Training.Diagnostics;

/// <summary>
/// The names the SDK publishes telemetry under, so hosts can subscribe (for example
/// <c>builder.Services.AddOpenTelemetry().WithMetrics(m =&gt; m.AddMeter(TrainingTelemetry.MeterName))</c>).
/// Instrument names are dotted and lower case, in the style of OpenTelemetry semantic conventions. Every tag has a
/// small, bounded set of values; job ids appear on spans only, never on metrics. See docs/monitoring.md.
/// </summary>
public static class TrainingTelemetry
{
    /// <summary>The name of the SDK's <see cref="System.Diagnostics.Metrics.Meter"/> and <see cref="ActivitySource"/>.</summary>
    public const string MeterName = "VisionPlatform.Training";

    /// <summary>The name of the SDK's <see cref="ActivitySource"/> (the same as <see cref="MeterName"/>).</summary>
    public const string ActivitySourceName = MeterName;

    /// <summary>Counter: runs started through <see cref="TrainingClient"/>, tagged with <see cref="ExecutorTag"/> (the executor that runs them) and <see cref="FrameworkTag"/>.</summary>
    public const string StartsInstrument = "training.starts";

    /// <summary>Counter: starts that ran on a fallback executor, tagged with <see cref="RequestedExecutorTag"/>, <see cref="ExecutorTag"/> and <see cref="ReasonTag"/>.</summary>
    public const string FallbacksInstrument = "training.fallbacks";

    /// <summary>Counter: starts that failed because no executor in the chain could take the job, tagged with <see cref="RequestedExecutorTag"/> and <see cref="ReasonTag"/>.</summary>
    public const string StartFailuresInstrument = "training.start_failures";

    /// <summary>Counter: runs seen finishing with <see cref="TrainingPhase.Succeeded"/>, tagged with <see cref="ExecutorTag"/>, <see cref="FrameworkTag"/> and <see cref="ReasonTag"/>.</summary>
    public const string SucceededInstrument = "training.runs.succeeded";

    /// <summary>
    /// Counter: runs seen finishing with <see cref="TrainingPhase.Failed"/>, or ending as <see cref="TrainingPhase.Lost"/> or
    /// <see cref="TrainingPhase.NotFound"/> while they were live, tagged with <see cref="ExecutorTag"/>, <see cref="FrameworkTag"/> and <see cref="ReasonTag"/>.
    /// </summary>
    public const string FailedInstrument = "training.runs.failed";

    /// <summary>Counter: runs seen ending with <see cref="TrainingPhase.Stopped"/>, tagged with <see cref="ExecutorTag"/>, <see cref="FrameworkTag"/> and <see cref="ReasonTag"/>.</summary>
    public const string StoppedInstrument = "training.runs.stopped";

    /// <summary>Histogram (seconds): a finished run's running time, <c>StartedAt</c> to <c>FinishedAt</c>, tagged with <see cref="ExecutorTag"/>, <see cref="FrameworkTag"/> and <see cref="OutcomeTag"/>.</summary>
    public const string RunDurationInstrument = "training.run.duration";

    /// <summary>Histogram (seconds): how long a run waited before it started running, <c>CreatedAt</c> to <c>StartedAt</c>, tagged with <see cref="ExecutorTag"/> and <see cref="FrameworkTag"/>.</summary>
    public const string PendingDurationInstrument = "training.run.pending_duration";

    /// <summary>Observable up-down counter: live runs the SDK tracks, tagged with <see cref="ExecutorTag"/>, <see cref="PhaseTag"/> and <see cref="ReasonTag"/>.</summary>
    public const string ActiveRunsInstrument = "training.runs.active";

    /// <summary>Observable gauge (seconds): how long the longest-waiting pending run has waited since it was created, tagged with <see cref="ExecutorTag"/>; 0 when none waits.</summary>
    public const string OldestPendingAgeInstrument = "training.runs.oldest_pending_age";

    /// <summary>Counter: events a slow subscriber lost (dropped, or discarded when it was disconnected), tagged with <see cref="OverflowPolicyTag"/>.</summary>
    public const string EventsDroppedInstrument = "training.events.dropped";

    /// <summary>Observable up-down counter: open event subscriptions.</summary>
    public const string SubscribersInstrument = "training.events.subscribers";

    /// <summary>
    /// Counter: requests an executor sent to its backend (for example the Kubernetes API), one per attempt (retries
    /// included, watches and log follows too), tagged with <see cref="ExecutorTag"/>, <see cref="OperationTag"/>,
    /// <see cref="ResourceTag"/> and either <see cref="HttpStatusCodeTag"/> (answered) or <see cref="ErrorTypeTag"/>
    /// (not answered). Executors record it with <see cref="TrainingMetrics.RecordExecutorRequest"/>.
    /// </summary>
    public const string ExecutorRequestsInstrument = "training.executor.requests";

    /// <summary>Counter: executor requests that failed (no answer, or an error answer such as 429 or 5xx), with the same tags as <see cref="ExecutorRequestsInstrument"/> plus <see cref="ErrorTypeTag"/>.</summary>
    public const string ExecutorRequestErrorsInstrument = "training.executor.request.errors";

    /// <summary>Counter: executor requests that were retried, tagged with <see cref="ExecutorTag"/>, <see cref="OperationTag"/> and <see cref="ResourceTag"/>.</summary>
    public const string ExecutorRequestRetriesInstrument = "training.executor.request.retries";

    /// <summary>Span: one start through <see cref="TrainingClient"/>, with its routing and fallback decisions.</summary>
    public const string StartActivityName = "training.start";

    /// <summary>Span: one stop through <see cref="TrainingClient"/>.</summary>
    public const string StopActivityName = "training.stop";

    /// <summary>Tag: the executor that runs (or would have run) the job.</summary>
    public const string ExecutorTag = "training.executor";

    /// <summary>Tag: the executor the request asked for (the default unless overridden).</summary>
    public const string RequestedExecutorTag = "training.executor.requested";

    /// <summary>
    /// Tag: a short machine-readable reason. On start failures and fallbacks for example <c>unavailable</c>,
    /// <c>circuit_open</c>, <c>timeout</c>; on run outcomes one of <see cref="TrainingStatusReasons"/>, or <c>other</c>.
    /// </summary>
    public const string ReasonTag = "training.reason";

    /// <summary>Tag: the job's framework (for example <c>ultralytics</c>), or <c>unknown</c> for runs this host did not start.</summary>
    public const string FrameworkTag = "training.framework";

    /// <summary>Tag: how a run ended: <c>succeeded</c>, <c>failed</c> or <c>stopped</c>.</summary>
    public const string OutcomeTag = "training.outcome";

    /// <summary>Tag: the phase of a live run: <c>pending</c> or <c>running</c>.</summary>
    public const string PhaseTag = "training.phase";

    /// <summary>Tag: the subscriber's overflow policy: <c>drop_oldest</c> or <c>disconnect</c>.</summary>
    public const string OverflowPolicyTag = "training.overflow_policy";

    /// <summary>Tag (spans only): the caller's job id.</summary>
    public const string JobIdTag = "training.job_id";

    /// <summary>Tag (spans only): whether the start ran on a fallback executor.</summary>
    public const string FallbackTag = "training.fallback";

    /// <summary>Tag (spans only): why the start ran where it did, when it did not run on the requested executor (a sentence).</summary>
    public const string FallbackReasonTag = "training.fallback.reason";

    /// <summary>Tag (spans only): the phase the stopped run reported.</summary>
    public const string ResultPhaseTag = "training.result.phase";

    /// <summary>Tag: what an executor request does, in the backend's own words (for the Kubernetes API the verb: <c>get</c>, <c>list</c>, <c>watch</c>, <c>create</c>, <c>delete</c>, ... or <c>other</c>).</summary>
    public const string OperationTag = "training.operation";

    /// <summary>Tag: what an executor request acts on, from a small fixed set (for the Kubernetes API the resource with its subresource, for example <c>jobs</c>, <c>pods/log</c>; <c>other</c> otherwise).</summary>
    public const string ResourceTag = "training.resource";

    /// <summary>Tag: the HTTP status code of an answered request (OpenTelemetry <c>http.response.status_code</c>).</summary>
    public const string HttpStatusCodeTag = "http.response.status_code";

    /// <summary>
    /// Tag: why something failed (OpenTelemetry <c>error.type</c>): the status code of an error answer, or <c>timeout</c>,
    /// <c>connection_error</c>, <c>io_error</c>, <c>canceled</c> when there was no answer; on spans the error code or exception type.
    /// </summary>
    public const string ErrorTypeTag = "error.type";

    /// <summary>The SDK's activity source; spans are named after the operation, for example <c>training.start</c>.</summary>
    internal static ActivitySource ActivitySource { get; } = new(ActivitySourceName);
}
