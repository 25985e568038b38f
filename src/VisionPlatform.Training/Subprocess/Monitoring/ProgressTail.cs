using System.Buffers;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace VisionPlatform.Training.Subprocess.Monitoring;

/// <summary>
/// Finds the last <c>VP_PROGRESS</c> line of a log by reading backwards from its end in blocks, so the latest progress
/// of a 1 GiB log costs a few reads, never a forward pass. Only the part after an offset already looked at is read, and
/// at most <see cref="MaxScanBytes"/> of it.
/// </summary>
internal static class ProgressTail
{
    /// <summary>
    /// How far back one scan looks. A trainer that writes more than this between two progress lines shows its
    /// progress again at its next progress line (or at once to a follower, which reads every line).
    /// </summary>
    public const int MaxScanBytes = 16 * 1024 * 1024;

    private const int BlockSize = 64 * 1024;

    private static readonly byte[] PrefixBytes = Encoding.ASCII.GetBytes(TrainingProgressProtocol.Prefix);

    /// <summary>Scans the log from <paramref name="from"/> (a line start) to its end.</summary>
    /// <param name="path">The log file.</param>
    /// <param name="from">Where the part not yet looked at begins; always the start of a line.</param>
    /// <param name="final">Whether the writer has finished: then a last line without a newline counts too.</param>
    /// <param name="reportedAt">The time to give a progress line found (the log carries no timestamps).</param>
    /// <returns>
    /// Where the complete lines end (the next scan starts there) and the last well-formed progress line among them,
    /// if any. A log that does not exist yet gives <paramref name="from"/> and no progress.
    /// </returns>
    public static (long End, TrainingProgress? Last) Scan(string path, long from, bool final, DateTimeOffset? reportedAt)
    {
        SafeFileHandle handle;
        try
        {
            handle = Native.SafeFiles.OpenReadHandle(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or Native.NotRegularFileException)
        {
            return (from, null);
        }

        using (handle)
        {
            var length = RandomAccess.GetLength(handle);
            if (length <= from)
            {
                return (from, null);
            }

            var buffer = ArrayPool<byte>.Shared.Rent(BlockSize);
            try
            {
                return ScanBackwards(handle, buffer, from, length, final, reportedAt);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private static (long End, TrainingProgress? Last) ScanBackwards(SafeFileHandle handle, byte[] buffer, long from, long length, bool final, DateTimeOffset? reportedAt)
    {
        var limit = Math.Max(from, length - MaxScanBytes);

        // end: where complete lines end; lineEnd: the end (exclusive, before its newline) of the line being delimited.
        long? end = final ? length : null;
        var lineEnd = length;
        var position = length;
        while (position > limit)
        {
            var count = (int)Math.Min(BlockSize, position - limit);
            position -= count;
            RandomAccess.Read(handle, buffer.AsSpan(0, count), position);
            var block = buffer.AsSpan(0, count);
            for (var i = count - 1; i >= 0; i--)
            {
                if (block[i] != (byte)'\n')
                {
                    continue;
                }

                var newline = position + i;
                if (end is null)
                {
                    // Bytes after the last newline are a line still being written: the next scan reads it whole.
                    end = newline + 1;
                }
                else if (TryLine(handle, block, position, newline + 1, lineEnd, reportedAt, out var progress))
                {
                    return (end.Value, progress);
                }

                lineEnd = newline;
            }
        }

        if (end is null)
        {
            // No complete line yet (or none in the window): look at the same bytes again next time.
            return (from, null);
        }

        // The first line of the window is whole only when the window reaches the part already looked at.
        return limit == from && TryLine(handle, buffer.AsSpan(0, 0), position, from, lineEnd, reportedAt, out var first)
            ? (end.Value, first)
            : (end.Value, null);
    }

    /// <summary>Parses the line [start, stop) when it is a progress line; reads it separately only when its prefix matches.</summary>
    private static bool TryLine(SafeFileHandle handle, ReadOnlySpan<byte> block, long blockStart, long start, long stop, DateTimeOffset? reportedAt, out TrainingProgress? progress)
    {
        progress = null;
        var length = stop - start;
        if (length < PrefixBytes.Length || length > TrainingProgressProtocol.MaxLineLength + 1)
        {
            return false;
        }

        var inBlock = start - blockStart;
        if (inBlock >= 0 && inBlock + PrefixBytes.Length <= block.Length)
        {
            if (!block.Slice((int)inBlock, PrefixBytes.Length).SequenceEqual(PrefixBytes))
            {
                return false;
            }
        }

        var bytes = new byte[length];
        var read = RandomAccess.Read(handle, bytes, start);
        var line = bytes.AsSpan(0, read);
        if (!line.StartsWith(PrefixBytes))
        {
            return false;
        }

        if (line.Length > 0 && line[^1] == (byte)'\r')
        {
            line = line[..^1];
        }

        return TrainingProgressProtocol.TryParse(Encoding.UTF8.GetString(line), reportedAt, out progress);
    }
}
