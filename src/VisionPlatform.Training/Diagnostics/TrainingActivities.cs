using System.Diagnostics;
using System.Globalization;

namespace VisionPlatform.Training.Diagnostics;

/// <summary>
/// The training client's spans. They start under <see cref="Activity.Current"/>, so a host's incoming W3C <c>traceparent</c>
/// (for example an ASP.NET Core request) becomes their parent; the Kubernetes client's HTTP spans become their children.
/// </summary>
internal static class TrainingActivities
{
    public static Activity? StartStart(TrainingJobConfig config, string requestedExecutor)
    {
        var activity = TrainingTelemetry.ActivitySource.StartActivity(TrainingTelemetry.StartActivityName, ActivityKind.Internal);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(TrainingTelemetry.JobIdTag, config.JobId);
            activity.SetTag(TrainingTelemetry.FrameworkTag, config.Framework.Value);
            activity.SetTag(TrainingTelemetry.RequestedExecutorTag, requestedExecutor);
        }

        return activity;
    }

    public static void Started(Activity? activity, Routing.RoutedStart result)
    {
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(TrainingTelemetry.ExecutorTag, result.Run.ExecutorName);
            activity.SetTag(TrainingTelemetry.FallbackTag, result.IsFallback);
            if (result.FallbackReason is { } reason)
            {
                activity.SetTag(TrainingTelemetry.FallbackReasonTag, reason);
            }
        }

        activity?.SetStatus(ActivityStatusCode.Ok);
    }

    public static Activity? StartStop(TrainingRun run)
    {
        var activity = TrainingTelemetry.ActivitySource.StartActivity(TrainingTelemetry.StopActivityName, ActivityKind.Internal);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(TrainingTelemetry.JobIdTag, run.JobId);
            activity.SetTag(TrainingTelemetry.ExecutorTag, run.ExecutorName);
        }

        return activity;
    }

    public static void Stopped(Activity? activity, TrainingRunStatus status)
    {
        activity?.SetTag(TrainingTelemetry.ResultPhaseTag, status.Phase.ToString().ToLowerInvariant());
        activity?.SetStatus(ActivityStatusCode.Ok);
    }

    /// <summary>Marks the span failed with the error and an exception event. Used as an exception filter: never catches.</summary>
    /// <returns>Always <see langword="false"/>.</returns>
    public static bool Failed(Activity? activity, Exception exception)
    {
        if (activity is null)
        {
            return false;
        }

        var errorType = exception switch
        {
            TrainingException training => training.Code.Value,
            OperationCanceledException => "canceled",
            _ => exception.GetType().FullName ?? exception.GetType().Name,
        };
        activity.SetTag(TrainingTelemetry.ErrorTypeTag, errorType);
        activity.SetStatus(ActivityStatusCode.Error, string.Create(CultureInfo.InvariantCulture, $"{errorType}: {exception.Message}"));
        activity.AddException(exception);
        return false;
    }
}
