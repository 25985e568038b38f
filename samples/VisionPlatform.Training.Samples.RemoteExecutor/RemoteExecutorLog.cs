using Microsoft.Extensions.Logging;

namespace VisionPlatform.Training.Samples.RemoteExecutor;

internal static partial class RemoteExecutorLog
{
    [LoggerMessage(EventId = 5000, Level = LogLevel.Debug, Message = "Executor {Executor} started job {JobId} as run {RunId} ({State}).")]
    public static partial void Started(ILogger logger, string executor, string jobId, string runId, string state);

    [LoggerMessage(EventId = 5001, Level = LogLevel.Debug, Message = "Executor {Executor} could not read the training service's changes; retrying at the next poll: {Reason}")]
    public static partial void PollFailed(ILogger logger, string executor, string reason);
}
