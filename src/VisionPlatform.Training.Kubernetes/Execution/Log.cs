using Microsoft.Extensions.Logging;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>The Kubernetes executor's log messages (event ids 4000-4099).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Created Job {Namespace}/{JobName} for training job {JobId}")]
    public static partial void JobCreated(ILogger logger, string @namespace, string jobName, string jobId);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Job {Namespace}/{JobName} for training job {JobId} already exists with the same config; returning the existing run")]
    public static partial void JobAlreadyExists(ILogger logger, string @namespace, string jobName, string jobId);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Information, Message = "Stopped Job {Namespace}/{JobName} (training job {JobId}): stop recorded, deadline set to 0; the Job controller removes its pods and the Job stays until its TTL")]
    public static partial void JobStopped(ILogger logger, string @namespace, string jobName, string jobId);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Information, Message = "Waiting for pod {PodName} of training job {JobId} to start: {Reason}")]
    public static partial void WaitingForPod(ILogger logger, string podName, string jobId, string reason);

    // Debug: the training client logs each executor becoming unavailable once, with this reason (event 1102).
    [LoggerMessage(EventId = 4005, Level = LogLevel.Debug, Message = "The Kubernetes executor is unavailable: {Reason}")]
    public static partial void Unavailable(ILogger logger, string reason);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Warning, Message = "Could not delete the pods of Job {Namespace}/{JobName} with a {GraceSeconds} s grace period ({Reason}); they stop with their own grace period")]
    public static partial void PodGraceDeleteFailed(ILogger logger, string @namespace, string jobName, long graceSeconds, string reason);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Debug, Message = "Log stream of pod {PodName} ended while the container still runs; reconnecting")]
    public static partial void LogReconnect(ILogger logger, string podName);

    [LoggerMessage(EventId = 4008, Level = LogLevel.Debug, Message = "Could not read the last log lines of pod {PodName} for a failure message: {Reason}")]
    public static partial void FailureLogUnavailable(ILogger logger, string podName, string reason);

    [LoggerMessage(EventId = 4009, Level = LogLevel.Information, Message = "Job {Namespace}/{JobName} of training job {JobId} already finished; stop leaves it in place")]
    public static partial void StopOfFinishedJob(ILogger logger, string @namespace, string jobName, string jobId);

    [LoggerMessage(EventId = 4010, Level = LogLevel.Warning, Message = "The Job was not created, and its config ConfigMap {Namespace}/{ConfigMapName} could not be deleted ({Reason}); delete it by hand, or a repeated start reuses it")]
    public static partial void ConfigMapLeft(ILogger logger, string @namespace, string configMapName, string reason);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Information, Message = "Created headless Service {Namespace}/{ServiceName} for the group of training job {JobId}")]
    public static partial void ServiceCreated(ILogger logger, string @namespace, string serviceName, string jobId);

    [LoggerMessage(EventId = 4012, Level = LogLevel.Warning, Message = "The Service of Job {Namespace}/{JobName} could not be created, and the Job could not be deleted ({Reason}); stop or delete it by hand")]
    public static partial void GroupJobLeft(ILogger logger, string @namespace, string jobName, string reason);
}
