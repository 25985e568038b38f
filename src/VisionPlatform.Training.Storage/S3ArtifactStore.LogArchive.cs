using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;

namespace VisionPlatform.Training.Storage;

/// <summary>
/// The store as an <see cref="IRunLogArchive"/>: each chunk is one object at <see cref="ArtifactLayout.LogChunkPath"/> under
/// the run's prefix, uploaded and verified like every other object. A run's archived bytes are counted per store (listed
/// once per run, then counted as written); once <see cref="ArtifactStorageOptions.LogArchiveMaxBytesPerRun"/> is reached
/// further chunks are refused with one warning (event 4110).
/// </summary>
public sealed partial class S3ArtifactStore
{
    /// <summary>The smallest allowed <see cref="ArtifactStorageOptions.LogChunkMaxBytes"/>: one line of the largest size and its timestamp fit.</summary>
    internal const int MinLogChunkBytes = TrainingLogLine.MaxLineBytes + 64;

    /// <summary>Runs whose archived size is remembered; beyond that the memory is cleared and sizes are listed again.</summary>
    private const int MaxTrackedLogRuns = 4096;

    private readonly ConcurrentDictionary<string, ArchivedBytes> _archivedBytes = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public int MaxChunkBytes => _options.LogChunkMaxBytes;

    /// <inheritdoc />
    public async Task<bool> WriteLogChunkAsync(RunLogChunk chunk, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        ArgumentNullException.ThrowIfNull(chunk.Text);
        var path = ArtifactLayout.LogChunkPath(chunk.Attempt, chunk.Rank, chunk.Sequence);
        var content = Encoding.UTF8.GetBytes(chunk.Text);
        if (content.Length > MaxChunkBytes)
        {
            throw new ArgumentException($"The log chunk is {content.Length} bytes; the archive takes at most {MaxChunkBytes} (Training:Storage:LogChunkMaxBytes).", nameof(chunk));
        }

        var key = GetRunPrefix(chunk.JobId) + path;
        var archived = await ArchivedBytesOfAsync(chunk.JobId, cancellationToken).ConfigureAwait(false);
        lock (archived)
        {
            if (archived.Total + content.Length > _options.LogArchiveMaxBytesPerRun)
            {
                if (!archived.Warned)
                {
                    archived.Warned = true;
                    StorageLog.LogArchiveFull(_logger, chunk.JobId, _options.LogArchiveMaxBytesPerRun);
                }

                return false;
            }

            archived.Total += content.Length;
        }

        try
        {
            await TranslateAsync("Upload", key, chunk.JobId, () => _writer.UploadBytesAsync(content, key, path, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            lock (archived)
            {
                archived.Total -= content.Length;
            }

            throw;
        }

        return true;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<RunLogChunkInfo> ListLogChunksAsync(string jobId, int? attempt = null, int? rank = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var chunks = await ListChunksAsync(jobId, attempt, rank, cancellationToken).ConfigureAwait(false);
        foreach (var chunk in chunks)
        {
            yield return chunk;
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<RunLogChunk> ReadLogChunksAsync(string jobId, int? attempt = null, int? rank = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var chunks = await ListChunksAsync(jobId, attempt, rank, cancellationToken).ConfigureAwait(false);
        foreach (var chunk in chunks)
        {
            using var buffer = new MemoryStream((int)Math.Min(chunk.Size, MaxChunkBytes));
            try
            {
                await DownloadAsync(jobId, ArtifactLayout.LogChunkPath(chunk.Attempt, chunk.Rank, chunk.Sequence), buffer, cancellationToken).ConfigureAwait(false);
            }
            catch (TrainingException e) when (e.Code == TrainingErrorCode.ArtifactNotFound)
            {
                continue; // Deleted since the listing (the run was deleted meanwhile).
            }

            yield return new RunLogChunk(jobId, chunk.Attempt, chunk.Rank, chunk.Sequence, Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
        }
    }

    private async Task<List<RunLogChunkInfo>> ListChunksAsync(string jobId, int? attempt, int? rank, CancellationToken cancellationToken)
    {
        if (attempt is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(attempt), attempt, "An attempt is 1 or more.");
        }

        if (rank is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(rank), rank, "A node rank is 0 or more.");
        }

        var runPrefix = GetRunPrefix(jobId);
        var prefix = runPrefix + ArtifactLayout.LogArchiveDirectory + (attempt is { } a
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"attempt-{a}/") + (rank is { } r ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"rank-{r}/") : string.Empty)
            : "attempt-");
        var chunks = new List<RunLogChunkInfo>();
        string? continuationToken = null;
        do
        {
            var page = await ListPageAsync(prefix, continuationToken, jobId, cancellationToken).ConfigureAwait(false);
            foreach (var o in page.S3Objects ?? [])
            {
                if (ArtifactLayout.TryParseLogChunkPath(o.Key[runPrefix.Length..], out var chunkAttempt, out var chunkRank, out var sequence) &&
                    (attempt is null || attempt == chunkAttempt) && (rank is null || rank == chunkRank))
                {
                    chunks.Add(new RunLogChunkInfo(chunkAttempt, chunkRank, sequence, o.Size ?? 0));
                }
            }

            continuationToken = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (continuationToken is not null);

        // Keys sort as text (attempt-10 before attempt-2): order by the numbers.
        chunks.Sort((x, y) => (x.Attempt, x.Rank, x.Sequence).CompareTo((y.Attempt, y.Rank, y.Sequence)));
        return chunks;
    }

    private async Task<ArchivedBytes> ArchivedBytesOfAsync(string jobId, CancellationToken cancellationToken)
    {
        if (_archivedBytes.TryGetValue(jobId, out var known))
        {
            return known;
        }

        var chunks = await ListChunksAsync(jobId, attempt: null, rank: null, cancellationToken).ConfigureAwait(false);
        if (_archivedBytes.Count >= MaxTrackedLogRuns)
        {
            _archivedBytes.Clear();
        }

        return _archivedBytes.GetOrAdd(jobId, _ => new ArchivedBytes { Total = chunks.Sum(c => c.Size) });
    }

    /// <summary>A run's archived bytes as this store counts them (guarded by its own lock).</summary>
    private sealed class ArchivedBytes
    {
        public long Total { get; set; }

        public bool Warned { get; set; }
    }
}
