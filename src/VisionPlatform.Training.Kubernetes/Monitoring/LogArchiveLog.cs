using Microsoft.Extensions.Logging;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>The log archiving's messages (event ids 4230-4245). Log lines' text is never logged.</summary>
internal static partial class LogArchiveLog
{
    [LoggerMessage(EventId = 4230, Level = LogLevel.Debug, Message = "Archiving the log of pod {PodName} (attempt {Attempt}, rank {Rank}) of training job {JobId} from chunk {Sequence}")]
    public static partial void Started(ILogger logger, string podName, int attempt, int rank, string jobId, long sequence);

    [LoggerMessage(EventId = 4231, Level = LogLevel.Debug, Message = "Archived the log of pod {PodName} of training job {JobId}: {Chunks} chunks, drained {Drained}")]
    public static partial void Ended(ILogger logger, string podName, string jobId, long chunks, bool drained);

    [LoggerMessage(EventId = 4232, Level = LogLevel.Warning, Message = "Writing log chunk {Sequence} of pod {PodName} of training job {JobId} to the archive failed ({ErrorType}: {Error}); try {Try} of {Tries}")]
    public static partial void WriteFailed(ILogger logger, long sequence, string podName, string jobId, string errorType, string error, int @try, int tries);

    [LoggerMessage(EventId = 4233, Level = LogLevel.Warning, Message = "The archive refused log chunk {Sequence} of pod {PodName} of training job {JobId} (the run's archived log is full); the rest of this pod's log is not archived")]
    public static partial void Refused(ILogger logger, long sequence, string podName, string jobId);

    [LoggerMessage(EventId = 4234, Level = LogLevel.Warning, Message = "Not archiving the log of pod {PodName} of training job {JobId} yet: {Max} pod logs are archived already (Training:Kubernetes:Logs:MaxFollows)")]
    public static partial void Limit(ILogger logger, string podName, string jobId, int max);

    [LoggerMessage(EventId = 4235, Level = LogLevel.Information, Message = "The log of training job {JobId} is archived; set ttlSecondsAfterFinished of Job {Namespace}/{JobName} to {Ttl}")]
    public static partial void TtlApplied(ILogger logger, string jobId, string @namespace, string jobName, string ttl);

    [LoggerMessage(EventId = 4236, Level = LogLevel.Warning, Message = "Setting ttlSecondsAfterFinished of Job {Namespace}/{JobName} (training job {JobId}) after archiving its log failed ({Error}); retried later")]
    public static partial void TtlFailed(ILogger logger, string @namespace, string jobName, string jobId, string error);

    [LoggerMessage(EventId = 4237, Level = LogLevel.Debug, Message = "Reading the log of pod {PodName} for the archive failed: {Reason}; resuming")]
    public static partial void ReadFailed(ILogger logger, string podName, string reason);

    [LoggerMessage(EventId = 4238, Level = LogLevel.Warning, Message = "A log line of pod {PodName} of training job {JobId} ({Bytes} bytes) is larger than the archive's chunk limit ({Max} bytes); it is cut to fit")]
    public static partial void LineCut(ILogger logger, string podName, string jobId, int bytes, int max);

    [LoggerMessage(EventId = 4239, Level = LogLevel.Information, Message = "This host now archives the logs of namespace {Namespace}: it holds Lease {LeaseName} as {Identity}")]
    public static partial void LeaseAcquired(ILogger logger, string @namespace, string leaseName, string identity);

    [LoggerMessage(EventId = 4240, Level = LogLevel.Warning, Message = "This host lost Lease {LeaseName} of namespace {Namespace} ({Reason}); it stopped archiving without writing what its archivers held (the next holder reads those lines from the pods)")]
    public static partial void LeaseLost(ILogger logger, string leaseName, string @namespace, string reason);

    [LoggerMessage(EventId = 4241, Level = LogLevel.Information, Message = "This host released Lease {LeaseName} of namespace {Namespace} after flushing its archivers; another host takes over archiving")]
    public static partial void LeaseReleased(ILogger logger, string leaseName, string @namespace);

    [LoggerMessage(EventId = 4242, Level = LogLevel.Warning, Message = "Log archiving is off on this host: it may not use Lease {LeaseName} in namespace {Namespace} ({Error}). Grant the rule apiGroups [coordination.k8s.io], resources [leases], verbs [get, create, update] (the Role the cluster set-up renders has it)")]
    public static partial void LeaseForbidden(ILogger logger, string leaseName, string @namespace, string error);

    [LoggerMessage(EventId = 4243, Level = LogLevel.Debug, Message = "Log archiving of namespace {Namespace} is elected with Lease {LeaseName}; this host's identity is {Identity}")]
    public static partial void LeaseIdentity(ILogger logger, string @namespace, string leaseName, string identity);

    [LoggerMessage(EventId = 4244, Level = LogLevel.Debug, Message = "A request for Lease {LeaseName} of namespace {Namespace} failed ({Error}); tried again")]
    public static partial void LeaseRequestFailed(ILogger logger, string leaseName, string @namespace, string error);

    [LoggerMessage(EventId = 4245, Level = LogLevel.Debug, Message = "Lease {LeaseName} of namespace {Namespace} is held by {Holder}; this host does not archive")]
    public static partial void LeaseHeldByOther(ILogger logger, string leaseName, string @namespace, string holder);
}
