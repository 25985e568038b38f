namespace VisionPlatform.Training;

/// <summary>
/// Runs training jobs somewhere: as local processes, as Kubernetes Jobs, or in memory for tests.
/// Every executor has the same contract:
/// <list type="bullet">
/// <item><description><see cref="StartAsync"/> is idempotent per job id: the same config returns the existing run, a different one throws <see cref="TrainingErrorCode.JobConflict"/>.</description></item>
/// <item><description>Invalid input throws <see cref="TrainingValidationException"/> before anything starts.</description></item>
/// <item><description>Status, logs and stop work on handles from earlier host processes.</description></item>
/// </list>
/// </summary>
public interface ITrainingExecutor
{
    /// <summary>The executor's registered name, recorded in every <see cref="TrainingRun"/> it creates.</summary>
    string Name { get; }

    /// <summary>Starts a run, or returns the existing run for the same job id and config.</summary>
    /// <param name="config">The validated job.</param>
    /// <param name="cancellationToken">Cancels the call (not the run).</param>
    /// <returns>The run's handle.</returns>
    Task<TrainingRun> StartAsync(TrainingJobConfig config, CancellationToken cancellationToken = default);

    /// <summary>Reads a run's current status. Unknown runs give <see cref="TrainingPhase.NotFound"/>, not an exception.</summary>
    /// <param name="run">The run.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The status.</returns>
    Task<TrainingRunStatus> GetStatusAsync(TrainingRun run, CancellationToken cancellationToken = default);

    /// <summary>Streams status changes, starting with the current status, until the run is terminal.</summary>
    /// <param name="run">The run.</param>
    /// <param name="cancellationToken">Ends the stream.</param>
    /// <returns>Each distinct status, ending with a terminal one.</returns>
    IAsyncEnumerable<TrainingRunStatus> WatchAsync(TrainingRun run, CancellationToken cancellationToken = default);

    /// <summary>Reads a run's log; with <see cref="TrainingLogOptions.Follow"/> it streams until the run ends and the log is drained.</summary>
    /// <param name="run">The run.</param>
    /// <param name="options">Which lines; <see langword="null"/> for the whole log.</param>
    /// <param name="cancellationToken">Ends the stream.</param>
    /// <returns>The log lines, in order.</returns>
    IAsyncEnumerable<TrainingLogLine> GetLogsAsync(TrainingRun run, TrainingLogOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Stops a run: asks the trainer to exit, waits the grace period, then kills everything it started. Idempotent.</summary>
    /// <param name="run">The run.</param>
    /// <param name="options">Grace period; <see langword="null"/> for the configured default.</param>
    /// <param name="cancellationToken">Cancels waiting (the stop itself proceeds).</param>
    /// <returns>The status after the stop.</returns>
    Task<TrainingRunStatus> StopAsync(TrainingRun run, TrainingStopOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Lists the runs this executor knows, including those started by earlier host processes.</summary>
    /// <param name="query">Filters; <see langword="null"/> for all.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The matching runs' statuses.</returns>
    Task<IReadOnlyList<TrainingRunStatus>> ListAsync(TrainingRunQuery? query = null, CancellationToken cancellationToken = default);

    /// <summary>Finds a run by job id, for example after a host restart.</summary>
    /// <param name="jobId">The caller's job id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The run, or <see langword="null"/> when this executor has none with that id.</returns>
    Task<TrainingRun?> FindAsync(string jobId, CancellationToken cancellationToken = default);

    /// <summary>Checks whether the executor can start runs now.</summary>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>The availability with its reason.</returns>
    Task<ExecutorAvailability> CheckAvailabilityAsync(CancellationToken cancellationToken = default);
}
