namespace VisionPlatform.Training.Storage;

/// <summary>
/// The relative paths of a run's outputs under its prefix <c>&lt;prefix&gt;/&lt;escaped job id&gt;/</c>.
/// Trainers write into their output directory with these names; everything else in the output directory keeps its
/// relative path. See docs/storage.md.
/// </summary>
public static class ArtifactLayout
{
    /// <summary>Intermediate checkpoints (<c>checkpoints/</c>).</summary>
    public const string CheckpointsDirectory = "checkpoints/";

    /// <summary>Final weights (<c>weights/</c>).</summary>
    public const string WeightsDirectory = "weights/";

    /// <summary>Final metrics written by the trainer (<c>metrics.json</c>).</summary>
    public const string MetricsFile = "metrics.json";

    /// <summary>The trainer's combined output, uploaded from the executor's log file (<c>logs/train.log</c>). Reserved.</summary>
    public const string TrainLogFile = "logs/train.log";

    /// <summary>
    /// The upload manifest (<c>upload-manifest.json</c>), written last by <see cref="IArtifactStore.UploadRunAsync"/>: job id,
    /// upload time and every file's path, size and SHA-256. Its presence means the upload completed. Reserved. Not called
    /// <c>run.json</c>, a name trainers use for files of their own (the sample <c>train.py</c> does).
    /// </summary>
    public const string RunManifestFile = "upload-manifest.json";

    /// <summary>
    /// Checks a relative artifact path: '/'-separated, no empty, '.' or '..' segments, no leading '/', no control characters,
    /// at most 512 characters. Backslashes are not separators on the wire and are rejected to avoid ambiguity.
    /// </summary>
    /// <param name="relativePath">The path to check.</param>
    /// <param name="reason">Why the path is invalid, when it is.</param>
    /// <returns><see langword="true"/> when the path may be used.</returns>
    public static bool IsValidRelativePath(string? relativePath, out string? reason)
    {
        reason = null;
        if (string.IsNullOrEmpty(relativePath))
        {
            reason = "it is empty";
        }
        else if (relativePath.Length > 512)
        {
            reason = "it is longer than 512 characters";
        }
        else if (relativePath.Any(char.IsControl))
        {
            reason = "it contains a control character";
        }
        else if (relativePath.Contains('\\', StringComparison.Ordinal))
        {
            reason = "it contains '\\'; use '/' as the separator";
        }
        else if (relativePath.Split('/').Any(s => s is "" or "." or ".."))
        {
            reason = "it has an empty, '.' or '..' segment or a leading or trailing '/'";
        }

        return reason is null;
    }
}
