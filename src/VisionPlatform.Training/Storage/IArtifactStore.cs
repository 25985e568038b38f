namespace VisionPlatform.Training.Storage;

/// <summary>
/// Stores and serves the outputs of training runs in object storage, under <c>&lt;prefix&gt;/&lt;escaped job id&gt;/</c>
/// (see <see cref="ArtifactKeys"/> and <see cref="ArtifactLayout"/>). The S3/R2 implementation and its registration, <c>AddArtifactStorage(...)</c>, are in the <c>VisionPlatform.Training.Storage</c> package.
/// Failures are <see cref="TrainingException"/>s: <see cref="TrainingErrorCode.ArtifactNotFound"/> for a missing bucket or
/// object, <see cref="TrainingErrorCode.Forbidden"/> for rejected credentials, <see cref="TrainingErrorCode.ExecutorFailure"/>
/// otherwise; messages name the bucket and key and never contain credentials.
/// </summary>
public interface IArtifactStore
{
    /// <summary>The bucket this store writes to.</summary>
    string Bucket { get; }

    /// <summary>Returns the key prefix of a run, <c>&lt;prefix&gt;/&lt;escaped job id&gt;/</c>.</summary>
    /// <param name="jobId">The job id.</param>
    /// <returns>The prefix, ending with <c>/</c>.</returns>
    string GetRunPrefix(string jobId);

    /// <summary>
    /// Uploads a finished run: every regular file under <paramref name="outputDirectory"/> keeps its relative path (symbolic
    /// links are skipped), <paramref name="logFile"/> becomes <c>logs/train.log</c>, and an <c>upload-manifest.json</c> manifest is written
    /// last. Large files go up in parts; every request is retried on transient failures; every file is verified against
    /// hashes of the bytes read and sent (the server's MD5 ETags, or a read-back SHA-256). Files the previous upload's
    /// manifest lists that are not in this one are removed; nothing else under the prefix (such as the trainer's own
    /// uploads) is ever deleted.
    /// Executors call this after a run ends when storage is configured.
    /// </summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="outputDirectory">The run's output directory (the trainer's <c>--output_dir</c>).</param>
    /// <param name="logFile">The run's log file, or <see langword="null"/> when there is none.</param>
    /// <param name="cancellationToken">Cancels the upload; parts already sent are discarded.</param>
    /// <returns>What was uploaded.</returns>
    Task<RunUploadResult> UploadRunAsync(string jobId, string outputDirectory, string? logFile = null, CancellationToken cancellationToken = default);

    /// <summary>Lists a run's objects, page by page as they arrive. An unknown run yields nothing.</summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="cancellationToken">Stops the listing.</param>
    /// <returns>The run's objects in key order.</returns>
    IAsyncEnumerable<StoredArtifact> ListRunArtifactsAsync(string jobId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Copies one artifact into a stream. When the object carries a SHA-256 (everything written by <see cref="UploadRunAsync"/>)
    /// the bytes are verified; on a mismatch a <see cref="TrainingException"/> is thrown after the copy and the data must be discarded.
    /// </summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="relativePath">The artifact's path relative to the run, for example <c>weights/best.pt</c>.</param>
    /// <param name="destination">Receives the bytes; not closed.</param>
    /// <param name="cancellationToken">Cancels the download.</param>
    /// <returns>The artifact's description.</returns>
    Task<StoredArtifact> DownloadAsync(string jobId, string relativePath, Stream destination, CancellationToken cancellationToken = default);

    /// <summary>
    /// Downloads one artifact to a file: written to a temporary file beside it, verified, then moved into place, so the file
    /// is either complete or untouched. Missing directories are created; an existing file is replaced.
    /// </summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="relativePath">The artifact's path relative to the run.</param>
    /// <param name="filePath">The destination file.</param>
    /// <param name="cancellationToken">Cancels the download.</param>
    /// <returns>The artifact's description.</returns>
    Task<StoredArtifact> DownloadToFileAsync(string jobId, string relativePath, string filePath, CancellationToken cancellationToken = default);

    /// <summary>
    /// Returns a presigned GET URL for one artifact, checking first that it exists. The URL uses the endpoint's scheme
    /// (http stays http). Anyone holding the URL can read the object until it expires.
    /// </summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="relativePath">The artifact's path relative to the run.</param>
    /// <param name="expiresIn">How long the URL is valid: more than zero, at most 7 days.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The URL.</returns>
    Task<Uri> GetDownloadUrlAsync(string jobId, string relativePath, TimeSpan expiresIn, CancellationToken cancellationToken = default);

    /// <summary>Deletes every object of a run (in batches of up to 1,000). Deleting an unknown run deletes nothing.</summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="cancellationToken">Cancels the deletion between batches.</param>
    /// <returns>How many objects were deleted.</returns>
    Task<int> DeleteRunAsync(string jobId, CancellationToken cancellationToken = default);
}
