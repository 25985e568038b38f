using k8s;
using Microsoft.Extensions.Logging;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Follows one pod's trainer log (<c>follow=true</c>, <c>timestamps=true</c>) for the event hub: <c>VP_PROGRESS</c>
/// lines become progress, and every line is forwarded while a subscriber wants logs. Starts from the last
/// <see cref="InitialTailLines"/> lines (the latest progress is among them), resumes after a dropped stream without repeats
/// (<see cref="PodLogStream"/>), and ends when the stream ends after the container stopped (the log is drained) or when stopped.
/// </summary>
internal sealed class PodLogFollower : IDisposable
{
    /// <summary>Lines read back when a follow starts, so the current progress is known at once.</summary>
    public const int InitialTailLines = 200;

    private readonly TrainingRun _run;
    private readonly int _attempt;
    private readonly ITrainingEventPublisher _publisher;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly PodLogStream _log;
    private readonly BackgroundWork _work;

    public PodLogFollower(IKubernetes client, string ns, TrainingRun run, string podName, int attempt, ITrainingEventPublisher publisher, Func<bool> podRunning, TimeProvider time, ILogger logger)
    {
        _run = run;
        PodName = podName;
        _attempt = attempt;
        _publisher = publisher;
        _time = time;
        _logger = logger;
        _log = new PodLogStream(client, ns, podName, podRunning, time);
        _work = new BackgroundWork(RunAsync);
    }

    public string PodName { get; }

    /// <summary>Completes when the follow ended (drained, stopped or the pod is gone); never faults.</summary>
    public Task Completion => _work.Completion;

    public bool Stopping => _work.Stopping;

    public void Stop() => _work.Stop();

    public void Dispose() => _work.Dispose();

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        MonitorLog.FollowStarted(_logger, PodName, _run.JobId);
        try
        {
            await _log.FollowAsync(InitialTailLines, Forward, ex => MonitorLog.FollowFailed(_logger, PodName, ex.Message), cancellationToken).ConfigureAwait(false);
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

    private ValueTask<bool> Forward(DateTimeOffset? timestamp, string text, CancellationToken cancellationToken)
    {
        if (TrainingProgressProtocol.TryParse(text, timestamp ?? _time.GetUtcNow(), out var progress))
        {
            _publisher.PublishProgress(_run, progress);
        }

        if (_publisher.WantsLogs(_run.JobId))
        {
            _publisher.PublishLog(_run, new TrainingLogLine(text, timestamp, _attempt));
        }

        return ValueTask.FromResult(true);
    }
}
