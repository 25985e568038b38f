namespace VisionPlatform.Training;

/// <summary>
/// What executors and monitors report to the SDK's event hub, which fans it out to <see cref="ITrainingEventSource"/>
/// subscribers. Registered in DI by <c>AddTrainingExecutors</c>; built-in and third-party executors take it through their
/// constructors. Publishing never blocks and never throws: a slow or failing subscriber must not slow down the watch or
/// process loop that observed the change. Fallback decisions are published by the SDK's routing, not by executors.
/// </summary>
public interface ITrainingEventPublisher
{
    /// <summary>Raised (synchronously, outside locks) when someone starts or stops wanting progress or logs; the job id, or <see langword="null"/> for all-runs subscriptions.</summary>
    event Action<string?>? InterestChanged;

    /// <summary>Records a run's status; publishes a <see cref="TrainingPhaseChangedEvent"/> when phase, reason, attempt or exit code changed.</summary>
    /// <param name="status">The run's current status.</param>
    void PublishStatus(TrainingRunStatus status);

    /// <summary>Publishes progress when it differs from the last progress of the run.</summary>
    /// <param name="run">The run.</param>
    /// <param name="progress">Its latest progress.</param>
    void PublishProgress(TrainingRun run, TrainingProgress progress);

    /// <summary>Publishes a log line to subscribers that asked for logs.</summary>
    /// <param name="run">The run.</param>
    /// <param name="line">The line.</param>
    void PublishLog(TrainingRun run, TrainingLogLine line);

    /// <summary>Publishes the final state of a run's artifact upload (after it was saved, so a status read sees it).</summary>
    /// <param name="run">The run.</param>
    /// <param name="upload">The upload's final state.</param>
    void PublishArtifactUpload(TrainingRun run, ArtifactUploadStatus upload);

    /// <summary>Whether any subscriber wants progress of the job now.</summary>
    /// <param name="jobId">The job id.</param>
    /// <returns>Whether to follow the run's progress.</returns>
    bool WantsProgress(string jobId);

    /// <summary>Whether any subscriber wants log lines of the job now.</summary>
    /// <param name="jobId">The job id.</param>
    /// <returns>Whether to follow the run's log.</returns>
    bool WantsLogs(string jobId);

    /// <summary>The last status recorded for the job, with its latest progress.</summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="status">The status, when known.</param>
    /// <returns>Whether the hub knows the job.</returns>
    bool TryGetStatus(string jobId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TrainingRunStatus? status);
}
