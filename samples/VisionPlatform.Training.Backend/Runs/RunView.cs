namespace VisionPlatform.Training.Backend.Runs;

/// <summary>What the API returns for a run: its handle, phase with reason, progress and (once finished) cost.</summary>
/// <param name="Handle">The persisted handle (<see cref="TrainingRun.ToString"/>).</param>
/// <param name="JobId">The caller's job id.</param>
/// <param name="Executor">The executor running it.</param>
/// <param name="Phase">The phase.</param>
/// <param name="Reason">The machine-readable reason (see <see cref="TrainingStatusReasons"/>).</param>
/// <param name="Message">A human-readable explanation (host paths replaced by <c>&lt;path&gt;</c>).</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="StartedAt">When the trainer started.</param>
/// <param name="FinishedAt">When it finished.</param>
/// <param name="ExitCode">The trainer's exit code.</param>
/// <param name="Attempt">The attempt number.</param>
/// <param name="Progress">The latest progress: epoch, percent, metrics, time left.</param>
/// <param name="Cost">GPU-hours, CPU-hours and their price, once finished.</param>
public sealed record RunView(
    string Handle,
    string JobId,
    string Executor,
    TrainingPhase Phase,
    string Reason,
    string? Message,
    DateTimeOffset? CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    int? ExitCode,
    int Attempt,
    TrainingProgress? Progress,
    TrainingCost? Cost)
{
    /// <summary>The view of a status.</summary>
    public static RunView From(TrainingRunStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        return new(
            status.Run.ToString(),
            status.JobId,
            status.ExecutorName,
            status.Phase,
            status.Reason,
            // Messages can name this host's files (a run directory): the log has them, the API does not.
            Problems.TrainingProblems.RedactPaths(status.Message),
            status.CreatedAt,
            status.StartedAt,
            status.FinishedAt,
            status.ExitCode,
            status.Attempt,
            status.Progress,
            status.Cost);
    }
}
