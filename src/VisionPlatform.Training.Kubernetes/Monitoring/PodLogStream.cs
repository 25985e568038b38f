using System.Net;
using k8s;
using k8s.Autorest;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Follows one pod's trainer log (<c>follow=true</c>, <c>timestamps=true</c>) across dropped streams until the container
/// has stopped and its log is drained, the pod is gone, or the reader wants no more. A dropped stream is read again with
/// <c>sinceSeconds</c> reaching before the last timestamp delivered (<see cref="PodLogSince"/>), and what was already delivered is skipped: the
/// lines before that timestamp, and as many lines at it as were delivered (a trainer can print several lines within one
/// timestamp, so comparing timestamps alone would lose or repeat some). Used by the event hub's follower and by the log
/// archiver.
/// </summary>
internal sealed class PodLogStream(IKubernetes client, string ns, string podName, Func<bool> podRunning, TimeProvider time)
{
    /// <summary>How long to wait before reading again after a failed or dropped read.</summary>
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(500);

    private LogResumePoint _resume;

    /// <summary>
    /// Receives one line, or one part of a line longer than <see cref="TrainingLogLine.MaxLineBytes"/> (the parts share the
    /// line's timestamp); returns <see langword="false"/> to end the follow.
    /// </summary>
    public delegate ValueTask<bool> LineHandler(DateTimeOffset? timestamp, string text, CancellationToken cancellationToken);

    /// <summary>
    /// Counts a line as delivered at a timestamp, as if it had been read here: the archiver calls it with what the archive
    /// already holds after a host restart, so the follow continues after it.
    /// </summary>
    /// <param name="at">The line's timestamp.</param>
    public void MarkDelivered(DateTimeOffset at) => _resume = _resume.Advance(at);

    /// <summary>Follows the log, handing each new line to <paramref name="deliver"/>.</summary>
    /// <param name="initialTailLines">Read only the last lines on the first read (before anything was delivered); null reads the whole log.</param>
    /// <param name="deliver">Receives the lines.</param>
    /// <param name="readFailed">Told of a failed or dropped read, which is retried while the pod runs.</param>
    /// <param name="cancellationToken">Ends the follow.</param>
    /// <returns><see langword="true"/> when there is nothing more to read (drained, the pod gone, or the handler said stop); <see langword="false"/> when cancelled first.</returns>
    public async Task<bool> FollowAsync(int? initialTailLines, LineHandler deliver, Action<Exception> readFailed, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var running = podRunning();
            try
            {
                if (!await ReadOnceAsync(initialTailLines, deliver, cancellationToken).ConfigureAwait(false))
                {
                    return true;
                }
            }
            catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.NotFound))
            {
                return true; // The pod is gone: there is nothing more to read.
            }
            catch (Exception ex) when (ex is HttpOperationException or HttpRequestException or IOException or ObjectDisposedException && !cancellationToken.IsCancellationRequested)
            {
                // 400 while the container has not started, or a dropped stream: read again from the last timestamp.
                readFailed(ex);
            }

            if (!running && !podRunning())
            {
                return true; // The container had stopped before this read: its log is drained.
            }

            await Task.Delay(RetryDelay, time, cancellationToken).ConfigureAwait(false);
        }

        return false;
    }

    /// <returns><see langword="false"/> when the handler wants no more lines.</returns>
    private async Task<bool> ReadOnceAsync(int? initialTailLines, LineHandler deliver, CancellationToken cancellationToken)
    {
        int? since = _resume.Timestamp is { } last ? PodLogSince.SinceSeconds(time, last) : null;
        using var stream = await client.CoreV1.ReadNamespacedPodLogAsync(
            podName,
            ns,
            container: TrainingJobSpecBuilder.ContainerName,
            follow: true,
            sinceSeconds: since,
            tailLines: _resume.Timestamp is null ? initialTailLines : null,
            timestamps: true,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        using var cut = cancellationToken.Register(stream.Dispose);
        var reader = new PodLogLineReader(stream);
        var seen = _resume.StartRead();
        DateTimeOffset? lineTimestamp = null;
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } part)
        {
            // The parts of a line longer than TrainingLogLine.MaxLineBytes share the line's timestamp (and each counts).
            var (timestamp, text) = part.Continued ? (lineTimestamp, part.Text) : PodLogLine.Parse(part.Text);
            lineTimestamp = timestamp;
            if (seen.Seen(timestamp))
            {
                continue;
            }

            if (!await deliver(timestamp, text, cancellationToken).ConfigureAwait(false))
            {
                return false;
            }

            if (timestamp is { } delivered)
            {
                MarkDelivered(delivered);
            }
        }

        return true;
    }
}
