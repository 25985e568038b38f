using System.Runtime.CompilerServices;
using System.Text;
using VisionPlatform.Training.Storage;

namespace VisionPlatform.Training.Testing;

/// <summary>
/// An <see cref="IRunLogArchive"/> in memory, for tests: the same rules as the S3 store (chunk size limit, per-run limit
/// with refused chunks, a rewritten chunk replaces the earlier one, reads in attempt, rank and sequence order). Thread-safe.
/// </summary>
public sealed class InMemoryRunLogArchive : IRunLogArchive
{
    private readonly Lock _gate = new();
    private readonly SortedDictionary<(string JobId, int Attempt, int Rank, long Sequence), string> _chunks = new(Comparer<(string, int, int, long)>.Create(
        (x, y) => string.CompareOrdinal(x.Item1, y.Item1) is var c and not 0 ? c : (x.Item2, x.Item3, x.Item4).CompareTo((y.Item2, y.Item3, y.Item4))));

    private readonly Dictionary<string, long> _bytes = new(StringComparer.Ordinal);
    private int _refused;

    /// <summary>Creates an archive.</summary>
    /// <param name="maxChunkBytes">The largest chunk accepted, in UTF-8 bytes (default 2 MiB, as the S3 store).</param>
    /// <param name="maxBytesPerRun">The most one run may hold (default 256 MiB, as the S3 store).</param>
    public InMemoryRunLogArchive(int maxChunkBytes = 2 * 1024 * 1024, long maxBytesPerRun = 256L * 1024 * 1024)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxChunkBytes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytesPerRun, 1);
        MaxChunkBytes = maxChunkBytes;
        MaxBytesPerRun = maxBytesPerRun;
    }

    /// <inheritdoc />
    public int MaxChunkBytes { get; }

    /// <summary>The most one run may hold, in bytes.</summary>
    public long MaxBytesPerRun { get; }

    /// <summary>How many chunks were refused because their run was full.</summary>
    public int RefusedChunks => Volatile.Read(ref _refused);

    /// <summary>How many bytes a run's archived log holds.</summary>
    /// <param name="jobId">The job id.</param>
    /// <returns>The bytes stored for the run.</returns>
    public long BytesOf(string jobId)
    {
        lock (_gate)
        {
            return _bytes.GetValueOrDefault(jobId);
        }
    }

    /// <inheritdoc />
    public Task<bool> WriteLogChunkAsync(RunLogChunk chunk, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        ArgumentNullException.ThrowIfNull(chunk.Text);
        _ = ArtifactLayout.LogChunkPath(chunk.Attempt, chunk.Rank, chunk.Sequence);
        cancellationToken.ThrowIfCancellationRequested();
        var size = Encoding.UTF8.GetByteCount(chunk.Text);
        if (size > MaxChunkBytes)
        {
            throw new ArgumentException($"The log chunk is {size} bytes; the archive takes at most {MaxChunkBytes}.", nameof(chunk));
        }

        lock (_gate)
        {
            var key = (chunk.JobId, chunk.Attempt, chunk.Rank, chunk.Sequence);
            var previous = _chunks.TryGetValue(key, out var old) ? Encoding.UTF8.GetByteCount(old) : 0;
            var total = _bytes.GetValueOrDefault(chunk.JobId) - previous + size;
            if (total > MaxBytesPerRun)
            {
                Interlocked.Increment(ref _refused);
                return Task.FromResult(false);
            }

            _chunks[key] = chunk.Text;
            _bytes[chunk.JobId] = total;
            return Task.FromResult(true);
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<RunLogChunkInfo> ListLogChunksAsync(string jobId, int? attempt = null, int? rank = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var chunk in Select(jobId, attempt, rank))
        {
            cancellationToken.ThrowIfCancellationRequested();
            await Task.Yield();
            yield return new RunLogChunkInfo(chunk.Attempt, chunk.Rank, chunk.Sequence, Encoding.UTF8.GetByteCount(chunk.Text));
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<RunLogChunk> ReadLogChunksAsync(string jobId, int? attempt = null, int? rank = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var chunk in Select(jobId, attempt, rank))
        {
            cancellationToken.ThrowIfCancellationRequested();
            await Task.Yield();
            yield return chunk;
        }
    }

    private List<RunLogChunk> Select(string jobId, int? attempt, int? rank)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        lock (_gate)
        {
            return [.. _chunks
                .Where(c => c.Key.JobId == jobId && (attempt is null || c.Key.Attempt == attempt) && (rank is null || c.Key.Rank == rank))
                .Select(c => new RunLogChunk(c.Key.JobId, c.Key.Attempt, c.Key.Rank, c.Key.Sequence, c.Value))];
        }
    }
}
