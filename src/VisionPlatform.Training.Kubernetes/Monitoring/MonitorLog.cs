using Microsoft.Extensions.Logging;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>The Kubernetes monitor's log messages (event ids 4200-4229).</summary>
internal static partial class MonitorLog
{
    [LoggerMessage(EventId = 4200, Level = LogLevel.Information, Message = "Kubernetes monitor started for namespace {Namespace}")]
    public static partial void Started(ILogger logger, string @namespace);

    // Debug: a configuration problem is the executor's unavailability reason, which the training client logs once (event 1102).
    [LoggerMessage(EventId = 4201, Level = LogLevel.Debug, Message = "Kubernetes monitor is not running: {Reason}")]
    public static partial void NotStarted(ILogger logger, string reason);

    [LoggerMessage(EventId = 4202, Level = LogLevel.Debug, Message = "Listed {Count} {Resource} at resourceVersion {ResourceVersion}")]
    public static partial void Listed(ILogger logger, string resource, int count, string resourceVersion);

    [LoggerMessage(EventId = 4203, Level = LogLevel.Debug, Message = "The {Resource} watch ended after {Events} events; resuming from resourceVersion {ResourceVersion}")]
    public static partial void WatchEnded(ILogger logger, string resource, int events, string resourceVersion);

    [LoggerMessage(EventId = 4204, Level = LogLevel.Warning, Message = "The {Resource} watch sent nothing for {Seconds} s; reopening it from resourceVersion {ResourceVersion}")]
    public static partial void WatchStalled(ILogger logger, string resource, double seconds, string resourceVersion);

    [LoggerMessage(EventId = 4205, Level = LogLevel.Information, Message = "The {Resource} watch history after resourceVersion {ResourceVersion} expired (410); listing again")]
    public static partial void HistoryExpired(ILogger logger, string resource, string resourceVersion);

    [LoggerMessage(EventId = 4206, Level = LogLevel.Warning, Message = "Kubernetes {Resource} {Verb} failed ({Failures} in a row); retrying in {DelayMs} ms: {Reason}")]
    public static partial void ApiFailed(ILogger logger, string resource, string verb, int failures, double delayMs, string reason);

    [LoggerMessage(EventId = 4216, Level = LogLevel.Warning, Message = "Kubernetes {Resource} cannot be read ({Reason}); {Effect} (grant get, list and watch on {Resource})")]
    public static partial void OptionalResourceUnavailable(ILogger logger, string resource, string reason, string effect);

    [LoggerMessage(EventId = 4217, Level = LogLevel.Warning, Message = "The queue positions of LocalQueue {Namespace}/{Queue} cannot be read ({Reason}); Queued statuses will not show a position (grant get on localqueues/pendingworkloads in API group visibility.kueue.x-k8s.io, and check that Kueue's visibility API is served)")]
    public static partial void QueuePositionUnavailable(ILogger logger, string @namespace, string queue, string reason);

    [LoggerMessage(EventId = 4218, Level = LogLevel.Warning, Message = "Training job {JobId} was preempted {Preemptions} times, more than Training:Kubernetes:Kueue:MaxPreemptions ({Max}); its Workload {Workload} is deactivated and the run is recorded as failed")]
    public static partial void PreemptionBudgetExhausted(ILogger logger, string jobId, int preemptions, int max, string workload);

    [LoggerMessage(EventId = 4219, Level = LogLevel.Warning, Message = "Could not record the spent preemption budget of training job {JobId}: {Reason}")]
    public static partial void PreemptionBudgetNotRecorded(ILogger logger, string jobId, string reason);

    [LoggerMessage(EventId = 4215, Level = LogLevel.Debug, Message = "Kubernetes {Resource} {Verb} failed ({Failures} in a row); retrying in {DelayMs} ms: {Reason}")]
    public static partial void ApiFailedAgain(ILogger logger, string resource, string verb, int failures, double delayMs, string reason);

    [LoggerMessage(EventId = 4207, Level = LogLevel.Debug, Message = "Following the log of pod {PodName} for training job {JobId}")]
    public static partial void FollowStarted(ILogger logger, string podName, string jobId);

    [LoggerMessage(EventId = 4208, Level = LogLevel.Debug, Message = "Stopped following the log of pod {PodName} for training job {JobId}")]
    public static partial void FollowStopped(ILogger logger, string podName, string jobId);

    [LoggerMessage(EventId = 4209, Level = LogLevel.Warning, Message = "Not following the log of training job {JobId}: {Max} logs are followed already (Training:Kubernetes:Monitor:MaxLogFollows)")]
    public static partial void FollowLimit(ILogger logger, string jobId, int max);

    [LoggerMessage(EventId = 4210, Level = LogLevel.Debug, Message = "Reading the log of pod {PodName} failed: {Reason}")]
    public static partial void FollowFailed(ILogger logger, string podName, string reason);
}
