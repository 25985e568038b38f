namespace VisionPlatform.Training;

/// <summary>
/// What executors and monitors report to the event hub. Publishing never blocks and never throws: a slow or failing
/// subscriber must not slow down the watch or process loop that observed the change.
/// </summary>
internal interface ITrainingEventPublisher
{
    /// <summary>Raised (synchronously, outside locks) when someone starts or stops wanting progress or logs; the job id, or <see langword="null"/> for all-runs subscriptions.</summary>
    event Action<string?>? InterestChanged;

    /// <summary>Records a run's status; publishes a <see cref="TrainingPhaseChangedEvent"/> when phase, reason, attempt or exit code changed.</summary>
    void PublishStatus(TrainingRunStatus status);

    /// <summary>Publishes progress when it differs from the last progress of the run.</summary>
    void PublishProgress(TrainingRun run, TrainingProgress progress);

    /// <summary>Publishes a log line to subscribers that asked for logs.</summary>
    void PublishLog(TrainingRun run, TrainingLogLine line);

    /// <summary>Publishes a fallback decision.</summary>
    void PublishFallback(TrainingRun run, string requestedExecutor, string reason);

    /// <summary>Publishes the final state of a run's artifact upload (after it was saved, so a status read sees it).</summary>
    void PublishArtifactUpload(TrainingRun run, ArtifactUploadStatus upload);

    /// <summary>Whether any subscriber wants progress of the job now.</summary>
    bool WantsProgress(string jobId);

    /// <summary>Whether any subscriber wants log lines of the job now.</summary>
    bool WantsLogs(string jobId);

    /// <summary>The last status recorded for the job, with its latest progress.</summary>
    bool TryGetStatus(string jobId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TrainingRunStatus? status);
}
