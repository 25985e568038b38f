using System.Text;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Reads a pod log stream line by line with a length cap: a line longer than <see cref="TrainingLogLine.MaxLineBytes"/>
/// UTF-8 bytes is returned in parts of at most that size (cut on a character boundary), the rule the subprocess executor
/// applies to its log file. Memory stays bounded by the cap whatever the trainer prints; a trainer printing 1 GB without a
/// newline costs 1 MiB of buffer, not 1 GB of string.
/// </summary>
internal sealed class PodLogLineReader
{
    private readonly Stream _stream;
    private readonly int _maxLineBytes;
    private byte[] _buffer = new byte[16 * 1024];
    private int _start;
    private int _end;
    private bool _eof;
    private bool _continued;

    /// <param name="stream">The log stream (not disposed here).</param>
    /// <param name="maxLineBytes">The cap (default <see cref="TrainingLogLine.MaxLineBytes"/>).</param>
    public PodLogLineReader(Stream stream, int maxLineBytes = TrainingLogLine.MaxLineBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineBytes, 4);
        _stream = stream;
        _maxLineBytes = maxLineBytes;
    }

    /// <summary>
    /// Reads the next line or part of a line. <c>Continued</c> is true for the second and later parts of a line that was
    /// split (they carry no timestamp of their own); null at the end of the stream.
    /// </summary>
    public async ValueTask<(string Text, bool Continued)?> ReadLineAsync(CancellationToken cancellationToken)
    {
        var searched = 0;
        while (true)
        {
            var newline = _buffer.AsSpan(_start + searched, _end - _start - searched).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var length = searched + newline;
                var line = Take(length, skip: 1, trimCr: true);
                var continued = _continued;
                _continued = false;
                return (line, continued);
            }

            searched = _end - _start;
            if (searched >= _maxLineBytes)
            {
                var cut = CharBoundary(_buffer.AsSpan(_start, _maxLineBytes), _maxLineBytes);
                var part = Take(cut, skip: 0, trimCr: false);
                var continued = _continued;
                _continued = true;
                return (part, continued);
            }

            if (_eof || !await FillAsync(cancellationToken).ConfigureAwait(false))
            {
                _eof = true;
                if (_end > _start)
                {
                    var rest = Take(_end - _start, skip: 0, trimCr: true);
                    var continued = _continued;
                    _continued = false;
                    return (rest, continued);
                }

                return null;
            }
        }
    }

    /// <summary>The most a failure tail reads from a log stream (the server sends only the last lines, but one may be huge).</summary>
    public const int FailureTailByteBudget = 4 * 1024 * 1024;

    /// <summary>The longest failure-tail line kept in a status message, in characters; longer ones are cut with an ellipsis.</summary>
    public const int FailureTailMaxLineChars = 2048;

    /// <summary>
    /// Reads the last <paramref name="lines"/> non-empty lines of a log stream for a Failed status's message, reading at most
    /// <see cref="FailureTailByteBudget"/> bytes and keeping each line to <see cref="FailureTailMaxLineChars"/> characters
    /// (no <c>ReadToEndAsync</c>: a failed trainer's last line may be gigabytes).
    /// </summary>
    public static async Task<IReadOnlyList<string>> ReadTailAsync(Stream stream, int lines, CancellationToken cancellationToken)
    {
        var reader = new PodLogLineReader(stream, Math.Min(TrainingLogLine.MaxLineBytes, FailureTailByteBudget));
        var tail = new Queue<string>(Math.Min(Math.Max(lines, 1), 1024));
        long read = 0;
        while (lines > 0 && read < FailureTailByteBudget && await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } part)
        {
            read += part.Text.Length + 1;
            if (part.Continued || part.Text.Length == 0)
            {
                continue; // Only the start of a long line is kept.
            }

            if (tail.Count == lines)
            {
                tail.Dequeue();
            }

            tail.Enqueue(part.Text.Length > FailureTailMaxLineChars ? string.Concat(part.Text.AsSpan(0, FailureTailMaxLineChars), "…") : part.Text);
        }

        return [.. tail];
    }

    /// <summary>The largest length up to <paramref name="max"/> that does not end inside a UTF-8 sequence.</summary>
    private static int CharBoundary(ReadOnlySpan<byte> bytes, int max)
    {
        var i = max - 1;
        var back = 0;
        while (i > 0 && back < 3 && (bytes[i] & 0xC0) == 0x80)
        {
            i--;
            back++;
        }

        var lead = bytes[i];
        var need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        return max - i < need && i > 0 ? i : max;
    }

    private string Take(int length, int skip, bool trimCr)
    {
        var span = _buffer.AsSpan(_start, length);
        if (trimCr && span.Length > 0 && span[^1] == (byte)'\r')
        {
            span = span[..^1];
        }

        var text = Encoding.UTF8.GetString(span);
        _start += length + skip;
        return text;
    }

    private async ValueTask<bool> FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            // Keep the partial line, drop what was consumed.
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Min(_buffer.Length * 2, _maxLineBytes + 1));
        }

        var read = await _stream.ReadAsync(_buffer.AsMemory(_end, _buffer.Length - _end), cancellationToken).ConfigureAwait(false);
        _end += read;
        return read > 0;
    }
}
