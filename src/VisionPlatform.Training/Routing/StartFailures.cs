using Microsoft.Extensions.Logging;
using VisionPlatform.Training.Diagnostics;

namespace VisionPlatform.Training.Routing;

/// <summary>Builds the exception a failed routed start throws, and logs and counts it once.</summary>
internal sealed class StartFailures(ILogger logger, TrainingMetrics metrics)
{
    public TrainingException Fail(TrainingErrorCode code, TrainingJobConfig config, string requested, string reasonKind, string message, Exception? cause)
    {
        RoutingLog.StartFailed(logger, config.JobId, requested, message);
        metrics.StartFailed(requested, reasonKind);
        return new TrainingException(code, message, cause) { ExecutorName = requested, JobId = config.JobId };
    }
}
