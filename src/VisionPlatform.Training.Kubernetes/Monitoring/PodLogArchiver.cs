using System.Globalization;
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

    private readonly string _jobId;
    private readonly IRunLogArchive _archive;
    private readonly KubernetesLogArchiveOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly PodLogStream _log;
    private readonly BackgroundWork _work;
    private readonly SemaphoreSlim _bufferLock = new(1, 1);
    private readonly StringBuilder _buffer = new();
    private int _bufferBytes;
    private long _sequence;
    private long _written;
    private bool _refused;
    private volatile bool _abandoned;
    private readonly CancellationTokenSource _abandon = new();

    public PodLogArchiver(IKubernetes client, string ns, string jobId, string podName, int attempt, int rank, IRunLogArchive archive, KubernetesLogArchiveOptions options, Func<bool> podRunning, TimeProvider time, ILogger logger)
    {
        _jobId = jobId;
        PodName = podName;
        Attempt = attempt;
        Rank = rank;
        _archive = archive;
        _options = options;
        _time = time;
        _logger = logger;
        _log = new PodLogStream(client, ns, podName, podRunning, time);
        _work = new BackgroundWork(RunAsync);
    }

    public string PodName { get; }

    public int Attempt { get; }

    public int Rank { get; }

    /// <summary>Whether the pod's log was read to its end (or the pod is gone, or the archive is full): nothing more will come.</summary>
    public bool Drained { get; private set; }

    /// <summary>Completes when the archiving ended (drained, stopped or the pod is gone); never faults.</summary>
    public Task Completion => _work.Completion;

    public void Stop() => _work.Stop();

    /// <summary>
    /// Stops without writing anything more (this host lost the archiving Lease): the buffer is dropped, and the next holder
    /// reads those lines from the pod again, after the archive's last chunk.
    /// </summary>
    public void Abandon()
    {
        _abandoned = true;
        _work.Stop(); // First, so the copy sees its own token cancelled when the write below ends.
        try
        {
            _abandon.Cancel(); // A write on its way is cancelled too.
        }
        catch (ObjectDisposedException)
        {
            // Already ended and disposed.
        }
    }

    public void Dispose()
    {
        _work.Dispose();
        _bufferLock.Dispose(); // Safe to repeat.
        _abandon.Dispose();
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

            Drained &= _buffer.Length == 0 && !_abandoned;
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
                _log.MarkDelivered(at);
            }
        }
    }

    /// <returns>Whether the log was read to its end (or the pod is gone, or the archive is full).</returns>
    private Task<bool> CopyAsync(CancellationToken cancellationToken) =>
        _log.FollowAsync(initialTailLines: null, AppendAsync, ex => LogArchiveLog.ReadFailed(_logger, PodName, ex.Message), cancellationToken);

    /// <returns><see langword="false"/> once the archive refused a chunk.</returns>
    private async ValueTask<bool> AppendAsync(DateTimeOffset? timestamp, string text, CancellationToken cancellationToken)
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
                catch (OperationCanceledException) when (_abandoned)
                {
                    return; // The Lease was lost: nothing more is written.
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
        if (_abandoned)
        {
            _buffer.Clear();
            _bufferBytes = 0;
        }

        if (_buffer.Length == 0 || _refused)
        {
            return;
        }

        var chunk = new RunLogChunk(_jobId, Attempt, Rank, _sequence, _buffer.ToString());
        for (var attempt = 1; ; attempt++)
        {
            if (_abandoned)
            {
                break;
            }

            try
            {
                using var writing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _abandon.Token);
                if (!await _archive.WriteLogChunkAsync(chunk, writing.Token).ConfigureAwait(false))
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
