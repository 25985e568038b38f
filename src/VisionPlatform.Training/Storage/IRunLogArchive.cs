namespace VisionPlatform.Training.Storage;

/// <summary>
/// Keeps runs' logs beyond the life of whatever produced them (a Kubernetes pod the TTL controller deletes). Object stores
/// have no append, so a log is stored as ordered chunks, one object each, under the run's prefix:
/// <c>&lt;run prefix&gt;/logs/attempt-&lt;n&gt;/rank-&lt;r&gt;/&lt;sequence:D8&gt;.log</c> (<see cref="ArtifactLayout.LogChunkPath"/>).
/// A chunk's text is a run of lines, each ending with <c>\n</c> and starting with its RFC 3339 timestamp and a space when
/// the line has one (the form the Kubernetes API server gives with <c>timestamps=true</c>). The S3 implementation is
/// <c>S3ArtifactStore</c> in the <c>VisionPlatform.Training.Storage</c> package (registered by <c>AddArtifactStorage</c>);
/// <c>InMemoryRunLogArchive</c> in <c>VisionPlatform.Training.Testing</c> is one for tests. See docs/storage.md.
/// </summary>
public interface IRunLogArchive
{
    /// <summary>The largest chunk text accepted, in UTF-8 bytes. A writer flushes before a chunk would grow past it.</summary>
    int MaxChunkBytes { get; }

    /// <summary>
    /// Stores one chunk (a chunk written again with the same attempt, rank and sequence replaces the earlier one). When the
    /// run's archived log already holds the archive's per-run limit, the chunk is refused: nothing is written, a warning
    /// is logged once per run, and the result is <see langword="false"/> (the log kept so far is never dropped).
    /// </summary>
    /// <param name="chunk">The chunk; its text at most <see cref="MaxChunkBytes"/> UTF-8 bytes.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns><see langword="true"/> when stored; <see langword="false"/> when refused for the run's size limit.</returns>
    /// <exception cref="ArgumentException">The chunk is larger than <see cref="MaxChunkBytes"/>, or its numbers are out of range.</exception>
    /// <exception cref="TrainingException">The store failed.</exception>
    Task<bool> WriteLogChunkAsync(RunLogChunk chunk, CancellationToken cancellationToken = default);

    /// <summary>Lists a run's archived chunks (without their text) in order: attempt, then rank, then sequence.</summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="attempt">Only this attempt (1-based); <see langword="null"/> for every attempt.</param>
    /// <param name="rank">Only this node rank; <see langword="null"/> for every rank.</param>
    /// <param name="cancellationToken">Stops the listing.</param>
    /// <returns>The chunks' descriptions; nothing for a run with no archived log.</returns>
    IAsyncEnumerable<RunLogChunkInfo> ListLogChunksAsync(string jobId, int? attempt = null, int? rank = null, CancellationToken cancellationToken = default);

    /// <summary>Reads a run's archived log back, chunk by chunk, in the order of <see cref="ListLogChunksAsync"/>.</summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="attempt">Only this attempt (1-based); <see langword="null"/> for every attempt.</param>
    /// <param name="rank">Only this node rank; <see langword="null"/> for every rank.</param>
    /// <param name="cancellationToken">Stops the reading.</param>
    /// <returns>The chunks with their text; nothing for a run with no archived log.</returns>
    IAsyncEnumerable<RunLogChunk> ReadLogChunksAsync(string jobId, int? attempt = null, int? rank = null, CancellationToken cancellationToken = default);
}
