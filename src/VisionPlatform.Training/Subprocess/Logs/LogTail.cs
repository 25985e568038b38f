using System.Buffers;

namespace VisionPlatform.Training.Subprocess.Logs;

/// <summary>Finds where the last N lines of a log begin by reading backwards from the end in blocks: memory stays flat and a 1 GB log is as fast as a small one.</summary>
internal static class LogTail
{
    private const int BlockSize = 64 * 1024;

    /// <summary>The offset of the first byte of the last <paramref name="lines"/> lines before <paramref name="end"/>.</summary>
    /// <param name="stream">The log, readable and seekable.</param>
    /// <param name="end">Where the log ends (its length when read).</param>
    /// <param name="lines">How many lines; 0 gives <paramref name="end"/>.</param>
    /// <returns>The offset.</returns>
    public static long FindStart(Stream stream, long end, int lines)
    {
        if (lines <= 0 || end <= 0)
        {
            return end;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(BlockSize);
        try
        {
            var position = end;
            var found = 0;
            var first = true;
            while (position > 0)
            {
                var count = (int)Math.Min(BlockSize, position);
                position -= count;
                stream.Position = position;
                stream.ReadExactly(buffer, 0, count);
                var block = buffer.AsSpan(0, count);
                if (first)
                {
                    // A newline at the very end terminates the last line; it does not start another one.
                    first = false;
                    if (block[^1] == (byte)'\n')
                    {
                        block = block[..^1];
                    }
                }

                int index;
                while ((index = block.LastIndexOf((byte)'\n')) >= 0)
                {
                    if (++found == lines)
                    {
                        return position + index + 1;
                    }

                    block = block[..index];
                }
            }

            return 0;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The last lines of a log joined by newlines (each cut at 500 characters), for failure messages.</summary>
    /// <param name="path">The log file.</param>
    /// <param name="count">How many lines.</param>
    /// <returns>The lines, or <see langword="null"/> when the log is empty or cannot be read.</returns>
    public static string? ReadLastLines(string path, int count)
    {
        try
        {
            using var stream = Native.SafeFiles.OpenRead(path);
            var start = FindStart(stream, stream.Length, count);
            using var reader = new LogLineReader(path, start);
            var lines = new List<string>(count);
            while (reader.TryReadLine(final: true, out _, out var line))
            {
                lines.Add(line.Length > 500 ? line[..500] + "..." : line);
            }

            return lines.Count == 0 ? null : string.Join('\n', lines);
        }
        catch (IOException)
        {
            return null;
        }
    }
}
