using System.Globalization;
using System.Net;
using System.Text;
using k8s;
using k8s.Autorest;
using Microsoft.Extensions.Logging;
using VisionPlatform.Training.Storage;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Copies one pod's trainer log into the <see cref="IRunLogArchive"/> as chunks (attempt, rank, sequence): follows the log
/// with <c>timestamps=true</c>, writes a chunk once it holds <see cref="KubernetesLogArchiveOptions.ChunkBytes"/> (never more
/// than the archive's <see cref="IRunLogArchive.MaxChunkBytes"/>) or every <see cref="KubernetesLogArchiveOptions.FlushInterval"/>,
/// and a last one when the container ended and its log is drained. A broken stream is resumed from the last timestamp
/// written, skipping the lines already seen at that timestamp (so nothing repeats and nothing is lost); a follow that
/// starts again after a host restart resumes from the archive's last chunk. The buffer holds at most one chunk. The pod's
/// restart policy is Never, so its container never restarts in place: each retry is a new pod (a new attempt).
/// </summary>
internal sealed class PodLogArchiver : IDisposable
{
    private const int WriteTries = 3;

    private readonly IKubernetes _client;
    private readonly string _namespace;
    private readonly string _jobId;
    private readonly IRunLogArchive _archive;
    private readonly KubernetesLogArchiveOptions _options;
    private readonly Func<bool> _podRunning;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _bufferLock = new(1, 1);
    private readonly StringBuilder _buffer = new();
    private int _bufferBytes;
    private long _sequence;
    private long _written;
    private bool _refused;
    private int _disposed;

    // The last timestamp read and how many lines carried it, to resume a stream without repeats.
    private DateTimeOffset? _last;
    private int _countAtLast;

    public PodLogArchiver(IKubernetes client, string ns, string jobId, string podName, int attempt, int rank, IRunLogArchive archive, KubernetesLogArchiveOptions options, Func<bool> podRunning, TimeProvider time, ILogger logger)
    {
        _client = client;
        _namespace = ns;
        _jobId = jobId;
        PodName = podName;
        Attempt = attempt;
        Rank = rank;
        _archive = archive;
        _options = options;
        _podRunning = podRunning;
        _time = time;
        _logger = logger;
        Completion = Task.Run(() => RunAsync(_stop.Token));
    }

    public string PodName { get; }

    public int Attempt { get; }

    public int Rank { get; }

    /// <summary>Whether the pod's log was read to its end (or the pod is gone, or the archive is full): nothing more will come.</summary>
    public bool Drained { get; private set; }

    /// <summary>Completes when the archiving ended (drained, stopped or the pod is gone); never faults.</summary>
    public Task Completion { get; }

    public void Stop()
    {
        if (Volatile.Read(ref _disposed) == 0)
        {
            try
            {
                _stop.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Disposed concurrently: already stopped.
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _stop.Cancel();
            _stop.Dispose();
            _bufferLock.Dispose();
        }
    }

    /// <summary>Formats one archived line: its RFC 3339 timestamp (UTC, 100 ns), a space and the text; or the text alone.</summary>
    internal static string Format(DateTimeOffset? timestamp, string text) =>
        timestamp is { } at ? string.Concat(at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture), " ", text, "\n") : text + "\n";

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        using var flusher = new CancellationTokenSource();
        Task? flushing = null;
        try
        {
            await ResumeFromArchiveAsync(cancellationToken).ConfigureAwait(false);
            LogArchiveLog.Started(_logger, PodName, Attempt, Rank, _jobId, _sequence);
            flushing = FlushPeriodicallyAsync(flusher.Token);
            Drained = await CopyAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (ObjectDisposedException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is TrainingException or HttpOperationException or HttpRequestException or IOException)
        {
            // The archive or the API failed for good (after the store's own retries): what was read is still flushed below;
            // the monitor starts again later.
            LogArchiveLog.ReadFailed(_logger, PodName, ex.Message);
        }
        finally
        {
            await flusher.CancelAsync().ConfigureAwait(false);
            if (flushing is not null)
            {
                await flushing.ConfigureAwait(false);
            }

            // The last lines go out even when stopping (the host shuts down): bounded by a short deadline of their own.
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30), _time);
            try
            {
                await FlushAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or TrainingException)
            {
                // Not archived: the pod's log is read again from the archive's last line when the monitor starts over.
                Drained = false;
            }

            Drained &= _buffer.Length == 0;
            LogArchiveLog.Ended(_logger, PodName, _jobId, _written, Drained);
        }
    }

    /// <summary>After a host restart the archive already holds part of this pod's log: continue after its last line.</summary>
    private async Task ResumeFromArchiveAsync(CancellationToken cancellationToken)
    {
        RunLogChunk? lastChunk = null;
        await foreach (var chunk in _archive.ReadLogChunksAsync(_jobId, Attempt, Rank, cancellationToken).ConfigureAwait(false))
        {
            lastChunk = chunk;
        }

        if (lastChunk is null)
        {
            return;
        }

        _sequence = lastChunk.Sequence + 1;
        foreach (var line in lastChunk.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (PodLogLine.Parse(line).Timestamp is { } at)
            {
                Advance(at);
            }
        }
    }

    /// <returns>Whether the log was read to its end.</returns>
    private async Task<bool> CopyAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var running = _podRunning();
            try
            {
                int? since = _last is { } seen ? Math.Max(1, (int)Math.Ceiling((_time.GetUtcNow() - seen).TotalSeconds) + 1) : null;
                using var stream = await _client.CoreV1.ReadNamespacedPodLogAsync(
                    PodName,
                    _namespace,
                    container: TrainingJobSpecBuilder.ContainerName,
                    follow: true,
                    sinceSeconds: since,
                    timestamps: true,
                    cancellationToken: cancellationToken).ConfigureAwait(false);
                using var cut = cancellationToken.Register(stream.Dispose);
                var reader = new PodLogLineReader(stream);
                var skipAtLast = _countAtLast;
                var resumeAt = _last;
                DateTimeOffset? lineTimestamp = null;
                while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } part)
                {
                    // The parts of a line longer than TrainingLogLine.MaxLineBytes share the line's timestamp.
                    var (timestamp, text) = part.Continued ? (lineTimestamp, part.Text) : PodLogLine.Parse(part.Text);
                    lineTimestamp = timestamp;
                    if (resumeAt is { } last && timestamp is { } ts)
                    {
                        if (ts < last)
                        {
                            continue;
                        }

                        if (ts == last && skipAtLast > 0)
                        {
                            skipAtLast--;
                            continue;
                        }
                    }

                    if (!await AppendAsync(timestamp, text, cancellationToken).ConfigureAwait(false))
                    {
                        return true; // The archive is full: nothing more of this run is taken.
                    }
                }
            }
            catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.NotFound))
            {
                return true; // The pod is gone: there is nothing more to read.
            }
            catch (Exception ex) when (ex is HttpOperationException or HttpRequestException or IOException or ObjectDisposedException && !cancellationToken.IsCancellationRequested)
            {
                // 400 while the container has not started, or a dropped stream: resume from the last timestamp.
                LogArchiveLog.ReadFailed(_logger, PodName, ex.Message);
            }

            if (!running && !_podRunning())
            {
                return true; // The container had stopped before this read: its log is drained.
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), _time, cancellationToken).ConfigureAwait(false);
        }

        return false;
    }

    /// <returns><see langword="false"/> once the archive refused a chunk.</returns>
    private async Task<bool> AppendAsync(DateTimeOffset? timestamp, string text, CancellationToken cancellationToken)
    {
        var line = Format(timestamp, text);
        var bytes = Encoding.UTF8.GetByteCount(line);
        var max = _archive.MaxChunkBytes;
        if (bytes > max)
        {
            LogArchiveLog.LineCut(_logger, PodName, _jobId, bytes, max);
            line = Cut(line, max);
            bytes = Encoding.UTF8.GetByteCount(line);
        }

        await _bufferLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_bufferBytes + bytes > max)
            {
                await FlushLockedAsync(cancellationToken).ConfigureAwait(false);
            }

            if (_refused)
            {
                return false;
            }

            _buffer.Append(line);
            _bufferBytes += bytes;
            if (timestamp is { } at)
            {
                Advance(at);
            }

            if (_bufferBytes >= Math.Min(_options.ChunkBytes, max))
            {
                await FlushLockedAsync(cancellationToken).ConfigureAwait(false);
            }

            return !_refused;
        }
        finally
        {
            _bufferLock.Release();
        }
    }

    private void Advance(DateTimeOffset at)
    {
        if (at == _last)
        {
            _countAtLast++;
        }
        else
        {
            _last = at;
            _countAtLast = 1;
        }
    }

    private async Task FlushPeriodicallyAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.FlushInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    await FlushAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (TrainingException)
                {
                    // Logged per try; the buffer is kept and written at the next flush (a full buffer stops the copy).
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _bufferLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await FlushLockedAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _bufferLock.Release();
        }
    }

    /// <summary>Writes the buffer as the next chunk, trying <see cref="WriteTries"/> times; called holding the buffer lock.</summary>
    private async Task FlushLockedAsync(CancellationToken cancellationToken)
    {
        if (_buffer.Length == 0 || _refused)
        {
            return;
        }

        var chunk = new RunLogChunk(_jobId, Attempt, Rank, _sequence, _buffer.ToString());
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (!await _archive.WriteLogChunkAsync(chunk, cancellationToken).ConfigureAwait(false))
                {
                    _refused = true;
                    LogArchiveLog.Refused(_logger, _sequence, PodName, _jobId);
                }
                else
                {
                    _sequence++;
                    _written++;
                }

                break;
            }
            catch (TrainingException ex) when (attempt < WriteTries)
            {
                LogArchiveLog.WriteFailed(_logger, _sequence, PodName, _jobId, ex.Code.ToString(), ex.Message, attempt, WriteTries);
                await Task.Delay(TimeSpan.FromSeconds(attempt), _time, cancellationToken).ConfigureAwait(false);
            }
        }

        _buffer.Clear();
        _bufferBytes = 0;
    }

    private static string Cut(string line, int maxBytes)
    {
        var encoder = Encoding.UTF8;
        var length = Math.Min(line.Length, maxBytes - 1);
        while (length > 0 && (encoder.GetByteCount(line.AsSpan(0, length)) > maxBytes - 1 || char.IsHighSurrogate(line[length - 1])))
        {
            length -= Math.Max(1, length / 64);
        }

        return string.Concat(line.AsSpan(0, length), "\n");
    }
}
