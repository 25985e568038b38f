namespace VisionPlatform.Training;

/// <summary>
/// The upload of a run's outputs and log to object storage, made by an executor after the run ended (the subprocess
/// executor, when artifact storage is configured). It is separate from <see cref="TrainingRunStatus.Phase"/>: a run
/// that succeeded stays Succeeded whether or not its upload worked.
/// </summary>
public sealed record ArtifactUploadStatus
{
    /// <summary>Where the upload stands.</summary>
    public required ArtifactUploadState State { get; init; }

    /// <summary>What happened: where the files went, or why the last attempt failed (never credentials).</summary>
    public string? Message { get; init; }

    /// <summary>How many attempts were started so far.</summary>
    public int Attempts { get; init; }

    /// <summary>When the upload reached <see cref="ArtifactUploadState.Uploaded"/>, <see cref="ArtifactUploadState.Failed"/> or <see cref="ArtifactUploadState.Skipped"/>.</summary>
    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>Whether the upload will not change any more (Uploaded, Failed or Skipped).</summary>
    public bool IsFinal => State is ArtifactUploadState.Uploaded or ArtifactUploadState.Failed or ArtifactUploadState.Skipped;
}
