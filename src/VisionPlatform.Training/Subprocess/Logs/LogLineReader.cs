using System.Text;

namespace VisionPlatform.Training.Subprocess.Logs;

/// <summary>
/// Reads lines forward from an offset of a log that may still grow. Each line knows the offset of its first byte
/// (for timestamps). Bytes are decoded as UTF-8 (invalid sequences become U+FFFD); lines longer than
/// <see cref="MaxLineBytes"/> are split, so one endless line cannot exhaust memory.
/// </summary>
internal sealed class LogLineReader : IDisposable
{
    /// <summary>The longest line kept whole.</summary>
    public const int MaxLineBytes = 1024 * 1024;

    private readonly FileStream _stream;
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;
    private long _bufferOffset;

    /// <summary>Opens the log for reading (sharing it with the writing trainer).</summary>
    /// <param name="path">The log file.</param>
    /// <param name="offset">Where to start; should be the start of a line.</param>
    public LogLineReader(string path, long offset)
    {
        _stream = Native.SafeFiles.OpenRead(path, bufferSize: 1);
        _stream.Position = offset;
        _bufferOffset = offset;
    }

    /// <summary>The offset of the next unread byte.</summary>
    public long Position => _bufferOffset + _start;

    /// <summary>Reads the next complete line.</summary>
    /// <param name="final">Whether the writer has finished: then a last line without a newline is returned too.</param>
    /// <param name="offset">The line's first byte.</param>
    /// <param name="text">The line without its terminator.</param>
    /// <returns>Whether a line was read; <see langword="false"/> at the current end of the log.</returns>
    public bool TryReadLine(bool final, out long offset, out string text)
    {
        var searched = 0;
        while (true)
        {
            var pending = _buffer.AsSpan(_start + searched, _end - _start - searched);
            var newline = pending.IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var length = searched + newline;
                offset = Position;
                text = Decode(_buffer.AsSpan(_start, length));
                _start += length + 1;
                return true;
            }

            searched = _end - _start;
            if (searched >= MaxLineBytes)
            {
                offset = Position;
                text = Decode(_buffer.AsSpan(_start, MaxLineBytes));
                _start += MaxLineBytes;
                return true;
            }

            if (!Fill())
            {
                if (final && _end > _start)
                {
                    offset = Position;
                    text = Decode(_buffer.AsSpan(_start, _end - _start));
                    _start = _end;
                    return true;
                }

                offset = Position;
                text = string.Empty;
                return false;
            }
        }
    }

    /// <inheritdoc />
    public void Dispose() => _stream.Dispose();

    private bool Fill()
    {
        if (_start > 0)
        {
            // Keep the partial line, drop what was consumed.
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _bufferOffset += _start;
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Min(_buffer.Length * 2, MaxLineBytes + 1));
        }

        var read = _stream.Read(_buffer, _end, _buffer.Length - _end);
        _end += read;
        return read > 0;
    }

    private static string Decode(ReadOnlySpan<byte> line)
    {
        if (line.Length > 0 && line[^1] == (byte)'\r')
        {
            line = line[..^1];
        }

        return Encoding.UTF8.GetString(line);
    }
}
