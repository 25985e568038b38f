using VisionPlatform.Training.Subprocess.Coordination;
using VisionPlatform.Training.Subprocess.Runs;

namespace VisionPlatform.Training.Subprocess.Logs;

/// <summary>
/// Keeps the timestamp index (<c>train.log.idx</c>) of live runs: whenever a run's log grew since the last look, it
/// appends "size, now". One indexer per run in this process, however many executor instances share the runs directory.
/// </summary>
internal sealed class LogIndexer(RunClaims claims, TimeProvider time)
{
    /// <summary>Starts indexing a run, unless someone in this process already does.</summary>
    /// <param name="entry">The run.</param>
    /// <param name="fromExistingIndex">Continue after the last recorded size (a reattached run) instead of from zero.</param>
    public void Start(RunEntry entry, bool fromExistingIndex)
    {
        if (!claims.TryClaim(entry.Paths.Directory))
        {
            return;
        }

        entry.IndexedSize = fromExistingIndex ? LogIndex.LastIndexedSize(entry.Paths.IndexFile) : 0;
        entry.Indexing = true;
    }

    /// <summary>Stops indexing a run (another executor may index it from now on).</summary>
    /// <param name="entry">The run.</param>
    public void Stop(RunEntry entry)
    {
        if (!entry.Indexing)
        {
            return;
        }

        entry.Indexing = false;
        claims.Release(entry.Paths.Directory);
    }

    /// <summary>Records the log's size now, when it grew.</summary>
    /// <param name="entry">The run.</param>
    public void Update(RunEntry entry)
    {
        if (!entry.Indexing)
        {
            return;
        }

        lock (entry)
        {
            try
            {
                var size = new FileInfo(entry.Paths.LogFile) is { Exists: true } info ? info.Length : 0;
                if (size > entry.IndexedSize)
                {
                    LogIndex.Append(entry.Paths.IndexFile, size, time.GetUtcNow());
                    entry.IndexedSize = size;
                }
            }
            catch (IOException)
            {
                // The run directory was removed; the next poll tries again.
            }
        }
    }
}
