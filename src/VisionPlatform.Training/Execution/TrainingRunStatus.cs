namespace VisionPlatform.Training;

/// <summary>A typed snapshot of a run's state.</summary>
public sealed record TrainingRunStatus
{
    /// <summary>The run this status describes.</summary>
    public required TrainingRun Run { get; init; }

    /// <summary>Where the run is in its life.</summary>
    public required TrainingPhase Phase { get; init; }

    /// <summary>A machine-readable reason, usually one of <see cref="TrainingStatusReasons"/>.</summary>
    public required string Reason { get; init; }

    /// <summary>A human-readable explanation (for example the scheduler's message or the last log lines of a failure).</summary>
    public string? Message { get; init; }

    /// <summary>When the executor accepted the run.</summary>
    public DateTimeOffset? CreatedAt { get; init; }

    /// <summary>When the trainer started running.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>When the run reached a terminal phase.</summary>
    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>The trainer's exit code, when known.</summary>
    public int? ExitCode { get; init; }

    /// <summary>The attempt number, starting at 1 (Kubernetes retries increase it).</summary>
    public int Attempt { get; init; } = 1;

    /// <summary>The latest progress the trainer reported (<see cref="TrainingProgressProtocol"/>), when it reported any.</summary>
    public TrainingProgress? Progress { get; init; }

    /// <summary>GPU-hours, CPU-hours and their price; set once the run is terminal and had started.</summary>
    public TrainingCost? Cost { get; init; }

    /// <summary>
    /// The upload of the run's outputs to object storage by the executor, or <see langword="null"/> when the executor does
    /// not upload this run (no artifact storage configured, uploads switched off, or a Kubernetes run whose trainer uploads
    /// itself). See docs/storage.md.
    /// </summary>
    public ArtifactUploadStatus? ArtifactUpload { get; init; }

    /// <summary>The executor that runs the job.</summary>
    public string ExecutorName => Run.ExecutorName;

    /// <summary>The caller's job id.</summary>
    public string JobId => Run.JobId;

    /// <summary>Whether the run will not change any more.</summary>
    public bool IsTerminal => Phase is TrainingPhase.Succeeded or TrainingPhase.Failed or TrainingPhase.Stopped or TrainingPhase.Lost or TrainingPhase.NotFound;

    /// <summary>
    /// Whether this status is a change a watcher has not seen in <paramref name="previous"/>: another run, or another
    /// <see cref="Phase"/>, <see cref="Reason"/>, <see cref="Message"/>, <see cref="ExitCode"/> or <see cref="Attempt"/>.
    /// <see cref="ITrainingExecutor.WatchAsync"/> and <see cref="TrainingOperation.WatchAsync"/> yield a status only when
    /// this is true. Progress, timestamps, cost and artifact uploads are not status changes: progress is its own event
    /// (<see cref="TrainingProgressEvent"/>), and the latest progress rides along on the next status read.
    /// </summary>
    /// <param name="previous">The status seen last, or <see langword="null"/> when none was.</param>
    /// <returns>Whether this status should be reported.</returns>
    public bool IsChangeFrom(TrainingRunStatus? previous) =>
        previous is null
        || !previous.Run.Equals(Run)
        || previous.Phase != Phase
        || !string.Equals(previous.Reason, Reason, StringComparison.Ordinal)
        || !string.Equals(previous.Message, Message, StringComparison.Ordinal)
        || previous.ExitCode != ExitCode
        || previous.Attempt != Attempt;
}
