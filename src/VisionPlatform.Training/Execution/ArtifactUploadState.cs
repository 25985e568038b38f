namespace VisionPlatform.Training;

/// <summary>Where the upload of a run's outputs to object storage stands (see <see cref="ArtifactUploadStatus"/>).</summary>
public enum ArtifactUploadState
{
    /// <summary>Not uploaded yet: the run has not ended, or the upload waits for its next attempt or a restarted executor.</summary>
    Pending,

    /// <summary>An attempt is in progress.</summary>
    Uploading,

    /// <summary>Every output file and the log are in the bucket and verified. Final.</summary>
    Uploaded,

    /// <summary>Every attempt failed; <see cref="ArtifactUploadStatus.Message"/> says why. The outputs stay on local disk.</summary>
    Failed,

    /// <summary>Nothing to upload: the trainer never started (stopped while queued, or it could not be launched). Final.</summary>
    Skipped,
}
