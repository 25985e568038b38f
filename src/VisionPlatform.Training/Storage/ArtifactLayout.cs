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

    /// <summary>Archived log chunks (<c>logs/attempt-&lt;n&gt;/rank-&lt;r&gt;/&lt;sequence:D8&gt;.log</c>), written by an <see cref="IRunLogArchive"/>.</summary>
    public const string LogArchiveDirectory = "logs/";

    /// <summary>The relative path of an archived log chunk: <c>logs/attempt-&lt;n&gt;/rank-&lt;r&gt;/&lt;sequence:D8&gt;.log</c>.</summary>
    /// <param name="attempt">The attempt, 1 or more.</param>
    /// <param name="rank">The node rank, 0 or more.</param>
    /// <param name="sequence">The chunk's sequence number, 0 to 99,999,999.</param>
    /// <returns>The path relative to the run's prefix.</returns>
    public static string LogChunkPath(int attempt, int rank, long sequence)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfNegative(sequence);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sequence, MaxLogChunkSequence);
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{LogArchiveDirectory}attempt-{attempt}/rank-{rank}/{sequence:D8}.log");
    }

    /// <summary>The highest chunk sequence number (eight digits).</summary>
    public const long MaxLogChunkSequence = 99_999_999;

    /// <summary>Reads a path made by <see cref="LogChunkPath"/> back into its numbers.</summary>
    /// <param name="relativePath">A path relative to a run's prefix.</param>
    /// <param name="attempt">The attempt.</param>
    /// <param name="rank">The node rank.</param>
    /// <param name="sequence">The sequence number.</param>
    /// <returns><see langword="false"/> for any other path (for example <c>logs/train.log</c>).</returns>
    public static bool TryParseLogChunkPath(string? relativePath, out int attempt, out int rank, out long sequence)
    {
        attempt = rank = 0;
        sequence = 0;
        var parts = relativePath?.Split('/');
        if (parts is not { Length: 4 } || parts[0] + "/" != LogArchiveDirectory ||
            !parts[1].StartsWith("attempt-", StringComparison.Ordinal) || !parts[2].StartsWith("rank-", StringComparison.Ordinal) ||
            parts[3].Length != 12 || !parts[3].EndsWith(".log", StringComparison.Ordinal))
        {
            return false;
        }

        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        return int.TryParse(parts[1].AsSpan(8), System.Globalization.NumberStyles.None, invariant, out attempt) && attempt >= 1 &&
            int.TryParse(parts[2].AsSpan(5), System.Globalization.NumberStyles.None, invariant, out rank) &&
            long.TryParse(parts[3].AsSpan(0, 8), System.Globalization.NumberStyles.None, invariant, out sequence) &&
            string.Equals(LogChunkPath(attempt, rank, sequence), relativePath, StringComparison.Ordinal);
    }

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
