using System.Runtime.CompilerServices;
using VisionPlatform.Training.Subprocess.Runs;

namespace VisionPlatform.Training.Subprocess.Logs;

/// <summary>
/// Reads a run's log for <see cref="ITrainingExecutor.GetLogsAsync"/>: from the start, the last N lines or a time on,
/// with timestamps from the index, and following new lines until the run has ended and the file is drained.
/// </summary>
internal sealed class RunLogReader(TimeProvider time, TimeSpan pollInterval)
{
    /// <summary>The run's log lines.</summary>
    /// <param name="entry">The run.</param>
    /// <param name="options">What to read.</param>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>The lines.</returns>
    public async IAsyncEnumerable<TrainingLogLine> ReadAsync(
        RunEntry entry,
        TrainingLogOptions options,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // A queued run has no log yet: following waits for it, a plain read returns nothing.
        while (!File.Exists(entry.Paths.LogFile))
        {
            if (!options.Follow || entry.IsTerminal)
            {
                yield break;
            }

            await RunWaits.AnyAsync(entry.Changed, pollInterval, time, cancellationToken).ConfigureAwait(false);
        }

        var withTime = options.Timestamps || options.Since is not null;
        using var reader = Open(entry.Paths, options);
        using var index = withTime ? new LogIndex.Cursor(entry.Paths.IndexFile) : null;
        while (true)
        {
            // Look at the run before reading: if it had ended then, everything it wrote is in the file now.
            var ended = entry.IsTerminal;
            while (reader.TryReadLine(final: ended || !options.Follow, out var offset, out var text))
            {
                DateTimeOffset? timestamp = null;
                if (index is not null)
                {
                    timestamp = index.TimeOf(offset) ?? LastWriteTime(entry.Paths.LogFile);
                    if (options.Since is { } since && timestamp < since)
                    {
                        continue;
                    }
                }

                yield return new TrainingLogLine(text, options.Timestamps ? timestamp : null);
            }

            if (!options.Follow || ended)
            {
                yield break;
            }

            await RunWaits.AnyAsync(entry.Terminal, pollInterval, time, cancellationToken).ConfigureAwait(false);
        }
    }

    private static LogLineReader Open(RunPaths paths, TrainingLogOptions options)
    {
        long start = 0;
        using (var stream = Native.SafeFiles.OpenRead(paths.LogFile))
        {
            var end = stream.Length;
            if (options.TailLines is { } lines)
            {
                start = LogTail.FindStart(stream, end, Math.Max(0, lines));
            }

            if (options.Since is { } since)
            {
                var sinceOffset = Math.Min(LogIndex.FindOffsetSince(paths.IndexFile, since), end);
                if (sinceOffset > start)
                {
                    start = LineStartAtOrAfter(stream, sinceOffset);
                }
            }
        }

        return new LogLineReader(paths.LogFile, start);
    }

    /// <summary>The first line start at or after an offset (a line that began earlier was observed earlier).</summary>
    private static long LineStartAtOrAfter(FileStream stream, long offset)
    {
        if (offset == 0)
        {
            return 0;
        }

        stream.Position = offset - 1;
        var buffer = new byte[64 * 1024];
        var position = offset - 1;
        int read;
        while ((read = stream.Read(buffer)) > 0)
        {
            var newline = buffer.AsSpan(0, read).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                return position + newline + 1;
            }

            position += read;
        }

        return position;
    }

    private static DateTimeOffset LastWriteTime(string path) => new(File.GetLastWriteTimeUtc(path), TimeSpan.Zero);
}
