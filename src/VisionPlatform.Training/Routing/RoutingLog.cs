using Microsoft.Extensions.Logging;

namespace VisionPlatform.Training.Routing;

/// <summary>Routing's log messages. Event ids 1100-1199 are reserved for routing and are stable.</summary>
internal static partial class RoutingLog
{
    [LoggerMessage(EventId = 1100, EventName = "TrainingFallback", Level = LogLevel.Warning,
        Message = "Job {JobId} runs on fallback executor '{ExecutorUsed}' instead of '{RequestedExecutor}': {Reason}")]
    public static partial void FellBack(ILogger logger, string jobId, string requestedExecutor, string executorUsed, string reason);

    [LoggerMessage(EventId = 1101, EventName = "TrainingStartFailed", Level = LogLevel.Warning,
        Message = "Job {JobId} could not start on '{RequestedExecutor}' or any fallback: {Reason}")]
    public static partial void StartFailed(ILogger logger, string jobId, string requestedExecutor, string reason);

    [LoggerMessage(EventId = 1102, EventName = "ExecutorUnavailable", Level = LogLevel.Warning,
        Message = "Training executor '{Executor}' is unavailable: {Reason}")]
    public static partial void ExecutorUnavailable(ILogger logger, string executor, string reason);

    [LoggerMessage(EventId = 1103, EventName = "ExecutorAvailable", Level = LogLevel.Information,
        Message = "Training executor '{Executor}' is available")]
    public static partial void ExecutorAvailable(ILogger logger, string executor);

    [LoggerMessage(EventId = 1104, EventName = "CircuitOpened", Level = LogLevel.Warning,
        Message = "Circuit breaker for training executor '{Executor}' opened for {BreakDuration} after: {Reason}")]
    public static partial void CircuitOpened(ILogger logger, string executor, TimeSpan breakDuration, string reason);

    [LoggerMessage(EventId = 1105, EventName = "CircuitHalfOpened", Level = LogLevel.Information,
        Message = "Circuit breaker for training executor '{Executor}' is half-open: the next start is a trial")]
    public static partial void CircuitHalfOpened(ILogger logger, string executor);

    [LoggerMessage(EventId = 1106, EventName = "CircuitClosed", Level = LogLevel.Information,
        Message = "Circuit breaker for training executor '{Executor}' closed")]
    public static partial void CircuitClosed(ILogger logger, string executor);

    [LoggerMessage(EventId = 1107, EventName = "AmbiguousStartFound", Level = LogLevel.Information,
        Message = "Job {JobId}: the start on '{Executor}' failed ambiguously but the run exists there; not falling back")]
    public static partial void AmbiguousStartFound(ILogger logger, string jobId, string executor);

    [LoggerMessage(EventId = 1108, EventName = "AmbiguousStartUnresolved", Level = LogLevel.Warning,
        Message = "Job {JobId}: the start on '{Executor}' failed ambiguously and '{Executor}' could not confirm whether the run exists; not falling back: {Reason}")]
    public static partial void AmbiguousStartUnresolved(ILogger logger, string jobId, string executor, string reason);

    [LoggerMessage(EventId = 1109, EventName = "ExistingRunRouted", Level = LogLevel.Information,
        Message = "Job {JobId} already has a run on '{Executor}'; the start goes there instead of '{RequestedExecutor}'")]
    public static partial void ExistingRunRouted(ILogger logger, string jobId, string executor, string requestedExecutor);

    [LoggerMessage(EventId = 1110, EventName = "LookupFailed", Level = LogLevel.Debug,
        Message = "Looking up job {JobId} on '{Executor}' failed: {Reason}")]
    public static partial void LookupFailed(ILogger logger, string jobId, string executor, string reason);

    [LoggerMessage(EventId = 1111, EventName = "AvailabilityRefreshFailed", Level = LogLevel.Warning,
        Message = "Refreshing the availability of training executor '{Executor}' failed")]
    public static partial void AvailabilityRefreshFailed(ILogger logger, string executor, Exception exception);
}
