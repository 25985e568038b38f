using System.Net;
using k8s;
using k8s.Autorest;
using Microsoft.Extensions.Logging;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Follows one pod's trainer log (<c>follow=true</c>, <c>timestamps=true</c>) for the event hub: <c>VP_PROGRESS</c>
/// lines become progress, and every line is forwarded while a subscriber wants logs. Starts from the last
/// <see cref="InitialTailLines"/> lines (the latest progress is among them), resumes after a dropped stream from the last
/// timestamp seen, and ends when the stream ends after the container stopped (the log is drained) or when stopped.
/// </summary>
internal sealed class PodLogFollower : IDisposable
{
    /// <summary>Lines read back when a follow starts, so the current progress is known at once.</summary>
    public const int InitialTailLines = 200;

    private readonly IKubernetes _client;
    private readonly string _namespace;
    private readonly TrainingRun _run;
    private readonly int _attempt;
    private readonly ITrainingEventPublisher _publisher;
    private readonly Func<bool> _podRunning;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private int _disposed;

    public PodLogFollower(IKubernetes client, string ns, TrainingRun run, string podName, int attempt, ITrainingEventPublisher publisher, Func<bool> podRunning, TimeProvider time, ILogger logger)
    {
        _client = client;
        _namespace = ns;
        _run = run;
        PodName = podName;
        _attempt = attempt;
        _publisher = publisher;
        _podRunning = podRunning;
        _time = time;
        _logger = logger;
        Completion = Task.Run(() => RunAsync(_stop.Token));
    }

    public string PodName { get; }

    /// <summary>Completes when the follow ended (drained, stopped or the pod is gone); never faults.</summary>
    public Task Completion { get; }

    public bool Stopping => Volatile.Read(ref _disposed) != 0 || _stop.IsCancellationRequested;

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
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        MonitorLog.FollowStarted(_logger, PodName, _run.JobId);
        DateTimeOffset? last = null;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var running = _podRunning();
                try
                {
                    // Resume a dropped stream just before the last line seen; lines up to it are skipped below.
                    int? since = last is { } seen ? Math.Max(1, (int)Math.Ceiling((_time.GetUtcNow() - seen).TotalSeconds) + 1) : null;
                    using var stream = await _client.CoreV1.ReadNamespacedPodLogAsync(
                        PodName,
                        _namespace,
                        container: TrainingJobSpecBuilder.ContainerName,
                        follow: true,
                        sinceSeconds: since,
                        tailLines: last is null ? InitialTailLines : null,
                        timestamps: true,
                        cancellationToken: cancellationToken).ConfigureAwait(false);
                    using var cut = cancellationToken.Register(stream.Dispose);
                    var reader = new PodLogLineReader(stream);
                    DateTimeOffset? lineTimestamp = null;
                    var skipping = false;
                    while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } part)
                    {
                        // Lines are capped at TrainingLogLine.MaxLineBytes; the parts of a longer line share its timestamp.
                        var (timestamp, text) = part.Continued ? (lineTimestamp, part.Text) : PodLogLine.Parse(part.Text);
                        if (part.Continued)
                        {
                            if (!skipping)
                            {
                                Forward(text, timestamp);
                            }

                            continue;
                        }

                        lineTimestamp = timestamp;
                        skipping = timestamp is { } at && last is { } previous && at <= previous;
                        if (skipping)
                        {
                            continue;
                        }

                        last = timestamp ?? last;
                        Forward(text, timestamp);
                    }
                }
                catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.NotFound))
                {
                    return; // The pod is gone.
                }
                catch (Exception ex) when (ex is HttpOperationException or HttpRequestException or IOException or ObjectDisposedException && !cancellationToken.IsCancellationRequested)
                {
                    // 400 while the container is not started yet, or a dropped stream: try again while the pod runs.
                    MonitorLog.FollowFailed(_logger, PodName, ex.Message);
                }

                if (!running && !_podRunning())
                {
                    return; // The container had stopped before this read: the log is drained.
                }

                await Task.Delay(TimeSpan.FromMilliseconds(500), _time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (ObjectDisposedException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            MonitorLog.FollowStopped(_logger, PodName, _run.JobId);
        }
    }

    private void Forward(string text, DateTimeOffset? timestamp)
    {
        if (TrainingProgressProtocol.TryParse(text, timestamp ?? _time.GetUtcNow(), out var progress))
        {
            _publisher.PublishProgress(_run, progress);
        }

        if (_publisher.WantsLogs(_run.JobId))
        {
            _publisher.PublishLog(_run, new TrainingLogLine(text, timestamp, _attempt));
        }
    }
}
