using Microsoft.Extensions.Logging;

namespace VisionPlatform.Training.Testing;

/// <summary>Source-generated log messages of the in-memory executor (event ids 9000-9099).</summary>
internal static partial class InMemoryExecutorLog
{
    [LoggerMessage(EventId = 9001, Level = LogLevel.Debug, Message = "In-memory executor {ExecutorName} started job {JobId} as {ResourceId}")]
    public static partial void RunStarted(ILogger logger, string executorName, string jobId, string resourceId);

    [LoggerMessage(EventId = 9002, Level = LogLevel.Debug, Message = "In-memory executor {ExecutorName}: job {JobId} is {Phase} ({Reason})")]
    public static partial void RunChanged(ILogger logger, string executorName, string jobId, TrainingPhase phase, string reason);

    [LoggerMessage(EventId = 9003, Level = LogLevel.Debug, Message = "In-memory executor {ExecutorName} is now {Availability}: {Reason}")]
    public static partial void AvailabilityChanged(ILogger logger, string executorName, string availability, string? reason);

    [LoggerMessage(EventId = 9004, Level = LogLevel.Debug, Message = "In-memory executor {ExecutorName}: the record of job {JobId} ({ResourceId}) expired")]
    public static partial void RunExpired(ILogger logger, string executorName, string jobId, string resourceId);
}
