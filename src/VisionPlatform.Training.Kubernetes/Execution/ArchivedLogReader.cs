using System.Runtime.CompilerServices;
using VisionPlatform.Training.Storage;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Reads a run's log from the <see cref="IRunLogArchive"/> once its Job or pods are gone, in the shape the pods' logs have:
/// the lines of one node rank (<see cref="TrainingLogOptions.NodeRank"/>, 0 by default), of the latest archived attempt or
/// of every attempt (<see cref="TrainingLogOptions.AllAttempts"/>), each with its attempt; <see cref="TrainingLogOptions.Since"/>,
/// <see cref="TrainingLogOptions.TailLines"/> (only the last lines are held) and <see cref="TrainingLogOptions.Timestamps"/> apply.
/// Chunks are read one at a time, so memory stays within one chunk and the tail.
/// </summary>
internal sealed class ArchivedLogReader(IRunLogArchive archive, string jobId, TrainingLogOptions options)
{
    /// <summary>Whether the archive holds any of the run's log for the node asked for.</summary>
    public async Task<bool> HasLogAsync(CancellationToken cancellationToken)
    {
        await foreach (var _ in archive.ListLogChunksAsync(jobId, attempt: null, rank: options.NodeRank ?? 0, cancellationToken).ConfigureAwait(false))
        {
            return true;
        }

        return false;
    }

    public async IAsyncEnumerable<TrainingLogLine> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var rank = options.NodeRank ?? 0;
        int? attempt = null;
        if (!options.AllAttempts)
        {
            await foreach (var info in archive.ListLogChunksAsync(jobId, attempt: null, rank, cancellationToken).ConfigureAwait(false))
            {
                attempt = Math.Max(attempt ?? 0, info.Attempt);
            }

            if (attempt is null)
            {
                yield break;
            }
        }

        var window = new LogLineWindow(options);
        await foreach (var chunk in archive.ReadLogChunksAsync(jobId, attempt, rank, cancellationToken).ConfigureAwait(false))
        {
            foreach (var line in Lines(chunk))
            {
                if (options.Since is { } since && line.Timestamp is { } at && at < since)
                {
                    continue;
                }

                if (window.Offer(line) is { } now)
                {
                    yield return now;
                }
            }
        }

        foreach (var line in window.Drain())
        {
            yield return line;
        }
    }

    private static IEnumerable<TrainingLogLine> Lines(RunLogChunk chunk)
    {
        var text = chunk.Text;
        var start = 0;
        while (start < text.Length)
        {
            var end = text.IndexOf('\n', start);
            var raw = end < 0 ? text[start..] : text[start..end];
            start = end < 0 ? text.Length : end + 1;
            var (timestamp, body) = PodLogLine.Parse(raw);
            yield return new TrainingLogLine(body, timestamp, chunk.Attempt);
        }
    }
}
