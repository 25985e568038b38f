using System.Globalization;
using System.Text;

namespace VisionPlatform.Training.Subprocess.Logs;

/// <summary>
/// The sparse timestamp index of a log (<c>train.log.idx</c>). The trainer writes raw bytes, so the host records what
/// it observes: each line of the index is <c>"&lt;log size&gt; &lt;unix ms&gt;"</c>, appended whenever a poll sees the log
/// grow. A byte's time is the time of the first entry whose size is greater than its offset, i.e. the poll that first
/// saw it; a log line's timestamp is the time of its first byte. Bytes no poll has seen yet get the log's last-write time.
/// </summary>
internal static class LogIndex
{
    /// <summary>Appends one observation.</summary>
    /// <param name="path">The index file.</param>
    /// <param name="size">The log's size.</param>
    /// <param name="time">When that size was observed.</param>
    public static void Append(string path, long size, DateTimeOffset time)
    {
        var line = string.Create(CultureInfo.InvariantCulture, $"{size} {time.ToUnixTimeMilliseconds()}\n");
        using var stream = Native.SafeFiles.OpenAppend(path);
        stream.Write(Encoding.ASCII.GetBytes(line));
    }

    /// <summary>The size recorded by the last complete entry (0 when there is none).</summary>
    /// <param name="path">The index file.</param>
    public static long LastIndexedSize(string path)
    {
        try
        {
            using var stream = Native.SafeFiles.OpenRead(path);
            var length = stream.Length;
            var take = (int)Math.Min(length, 256);
            stream.Position = length - take;
            var bytes = new byte[take];
            stream.ReadExactly(bytes);
            var text = Encoding.ASCII.GetString(bytes);
            var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var complete = text.EndsWith('\n') ? lines : lines[..^1];
            return complete.Length > 0 && TryParse(complete[^1], out var size, out _) ? size : 0;
        }
        catch (Exception e) when (e is FileNotFoundException or Native.NotRegularFileException)
        {
            return 0;
        }
    }

    /// <summary>
    /// The log offset from which lines may have a timestamp at or after <paramref name="since"/>: the size of the last
    /// entry before the first entry at or after it. Earlier bytes were all observed before <paramref name="since"/>.
    /// </summary>
    /// <param name="path">The index file.</param>
    /// <param name="since">The time.</param>
    public static long FindOffsetSince(string path, DateTimeOffset since)
    {
        using var cursor = new Cursor(path);
        long previous = 0;
        while (cursor.TryNext(out var size, out var time))
        {
            if (time >= since)
            {
                return previous;
            }

            previous = size;
        }

        return previous;
    }

    private static bool TryParse(string line, out long size, out DateTimeOffset time)
    {
        size = 0;
        time = default;
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        if (space <= 0 ||
            !long.TryParse(line.AsSpan(0, space), NumberStyles.None, CultureInfo.InvariantCulture, out size) ||
            !long.TryParse(line.AsSpan(space + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var ms))
        {
            return false;
        }

        time = DateTimeOffset.FromUnixTimeMilliseconds(ms);
        return true;
    }

    /// <summary>Reads index entries forward; sees entries appended after it was opened.</summary>
    internal sealed class Cursor : IDisposable
    {
        private readonly string _path;
        private FileStream? _stream;
        private readonly StringBuilder _partial = new();
        private readonly byte[] _buffer = new byte[4096];
        private readonly Queue<(long Size, DateTimeOffset Time)> _ready = new();
        private (long Size, DateTimeOffset Time)? _current;

        public Cursor(string path) => _path = path;

        /// <summary>The time the byte at <paramref name="offset"/> was first observed, or <see langword="null"/> when no entry covers it yet. Offsets must not decrease between calls.</summary>
        public DateTimeOffset? TimeOf(long offset)
        {
            while (_current is not { } c || c.Size <= offset)
            {
                if (!TryNext(out var size, out var time))
                {
                    return null;
                }

                _current = (size, time);
            }

            return _current.Value.Time;
        }

        public bool TryNext(out long size, out DateTimeOffset time)
        {
            while (_ready.Count == 0)
            {
                if (!ReadMore())
                {
                    size = 0;
                    time = default;
                    return false;
                }
            }

            (size, time) = _ready.Dequeue();
            return true;
        }

        public void Dispose() => _stream?.Dispose();

        private bool ReadMore()
        {
            if (_stream is null)
            {
                try
                {
                    _stream = Native.SafeFiles.OpenRead(_path);
                }
                catch (Exception e) when (e is FileNotFoundException or Native.NotRegularFileException)
                {
                    return false;
                }
                catch (DirectoryNotFoundException)
                {
                    return false;
                }
            }

            var read = _stream.Read(_buffer);
            if (read == 0)
            {
                return false;
            }

            foreach (var b in _buffer.AsSpan(0, read))
            {
                if (b == (byte)'\n')
                {
                    if (TryParse(_partial.ToString(), out var size, out var time))
                    {
                        _ready.Enqueue((size, time));
                    }

                    _partial.Clear();
                }
                else
                {
                    _partial.Append((char)b);
                }
            }

            return true;
        }
    }
}
