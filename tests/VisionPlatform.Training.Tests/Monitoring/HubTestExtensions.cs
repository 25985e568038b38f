namespace VisionPlatform.Training.Tests.Monitoring;

/// <summary>Waits on a bare hub the way <see cref="TrainingOperation.WaitForCompletionAsync(TimeSpan, CancellationToken)"/> does in a host.</summary>
internal static class HubTestExtensions
{
    /// <summary>Event-driven wait on the hub alone, with <paramref name="executor"/> as the status safety net when given.</summary>
    public static Task<TrainingRunStatus> WaitForCompletionAsync(this TrainingEventHub hub, TrainingRun run, TimeSpan timeout, ITrainingExecutor? executor = null) =>
        new RunCompletion(hub, executor is null ? null : (r, ct) => executor.GetStatusAsync(r, ct), hub.Time).WaitAsync(run, timeout, CancellationToken.None);
}
