using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using VisionPlatform.Training.Subprocess.Runs;

namespace VisionPlatform.Training.Subprocess.Monitoring;

/// <summary>
/// The subprocess executor's side of monitoring. It turns each change of a run's state into the public status (with
/// the latest progress and, once terminal, the cost) and publishes it to the event hub the moment it happens: runs
/// change state only through <see cref="RunEntry.Update"/> (process exit observed by the reaper, a launch, a stop, a
/// recovery), which calls <see cref="Observe"/> under the run's lock, so the events of a run are in the order its
/// state changed. While a subscriber wants a running run's progress or log lines it follows the run's log (one poll
/// loop for all followed runs); when the run ends, what is left of the log is read before the terminal event.
/// Without a publisher (an executor constructed by hand) it still fills progress and cost into statuses.
/// </summary>
internal sealed class SubprocessRunMonitor : IDisposable
{
    private readonly ITrainingEventPublisher? _publisher;
    private readonly TrainingCostCalculator _cost;
    private readonly TimeProvider _time;
    private readonly TimeSpan _pollInterval;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<RunEntry, byte> _running = new();
    private readonly ConcurrentDictionary<RunEntry, byte> _following = new();
    private readonly CancellationTokenSource _disposing = new();
    private readonly Task _followLoop = Task.CompletedTask;

    /// <param name="publisher">Where to publish; <see langword="null"/> publishes nothing.</param>
    /// <param name="cost">Computes the cost of terminal runs.</param>
    /// <param name="time">The clock.</param>
    /// <param name="pollInterval">How often followed logs are read.</param>
    /// <param name="logger">The logger.</param>
    public SubprocessRunMonitor(ITrainingEventPublisher? publisher, TrainingCostCalculator cost, TimeProvider time, TimeSpan pollInterval, ILogger logger)
    {
        _publisher = publisher;
        _cost = cost;
        _time = time;
        _pollInterval = pollInterval;
        _logger = logger;
        if (publisher is not null)
        {
            publisher.InterestChanged += OnInterestChanged;
            _followLoop = Task.Run(FollowLoopAsync);
        }
    }

    /// <summary>The number of runs whose log is followed now.</summary>
    internal int FollowedRuns => _following.Count;

    /// <summary>Completes a status built from the persisted state with the latest progress and, when terminal, the cost.</summary>
    /// <param name="entry">The run.</param>
    /// <param name="state">The state the status was built from.</param>
    /// <param name="status">The status.</param>
    /// <returns>The completed status.</returns>
    public TrainingRunStatus Describe(RunEntry entry, RunStateDocument state, TrainingRunStatus status)
    {
        if (state.StartedAt is null)
        {
            // Never launched: no log, no progress, no cost.
            return status;
        }

        var now = _time.GetUtcNow();
        if (entry.ProgressTracker.Latest(status.IsTerminal, now) is { } progress)
        {
            status = status with { Progress = Estimate(progress, status, now) };
        }

        if (!status.IsTerminal)
        {
            return status;
        }

        try
        {
            return _cost.WithCost(status, state.Config.Gpus, state.Config.CpuRequest);
        }
        catch (ObjectDisposedException)
        {
            // The host's container (and with it the price table) is gone; the run's own facts are still worth reporting.
            return status;
        }
    }

    /// <summary>
    /// Publishes the run's current state; called under the run's lock after each change of its state and when the
    /// executor first learns of a run that is not finished (a new job, or one found on disk after a restart).
    /// </summary>
    /// <param name="entry">The run.</param>
    /// <param name="previousPhase">The phase before the change, or <see langword="null"/> for a run just learnt of.</param>
    public void Observe(RunEntry entry, TrainingPhase? previousPhase)
    {
        if (_publisher is null || _disposing.IsCancellationRequested)
        {
            return;
        }

        var phase = entry.State.Phase;
        if (phase == TrainingPhase.Running)
        {
            _publisher.PublishStatus(entry.ToStatus());
            _running.TryAdd(entry, 0);
            if (Wants(entry))
            {
                StartFollowing(entry, fromStart: previousPhase == TrainingPhase.Pending);
            }

            return;
        }

        if (entry.IsTerminal)
        {
            _running.TryRemove(entry, out _);
            if (_following.TryRemove(entry, out _))
            {
                // The trainer has exited: everything it wrote is in the file. Progress before the terminal event.
                entry.ProgressTracker.Follow(_publisher, entry.Handle, finished: true, _time.GetUtcNow());
                entry.ProgressTracker.StopFollowing(finished: true);
            }
        }

        _publisher.PublishStatus(entry.ToStatus());
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposing.IsCancellationRequested)
        {
            return;
        }

        if (_publisher is not null)
        {
            _publisher.InterestChanged -= OnInterestChanged;
        }

        _disposing.Cancel();
        try
        {
            // The loop only waits on a timer, so it ends at once after cancellation.
            _followLoop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException e) when (e.InnerExceptions.All(x => x is OperationCanceledException))
        {
        }

        foreach (var entry in _following.Keys)
        {
            entry.ProgressTracker.StopFollowing(finished: false);
        }

        _following.Clear();
        _running.Clear();
        _disposing.Dispose();
    }

    private static TrainingProgress Estimate(TrainingProgress progress, TrainingRunStatus status, DateTimeOffset now)
    {
        if (!status.IsTerminal)
        {
            return progress.WithEstimate(status.StartedAt, now);
        }

        // A finished run: the line was written before it ended; nothing remains once it succeeded, and a run that
        // failed or was stopped will not finish, so it has no estimate.
        var end = status.FinishedAt ?? now;
        var reported = progress.ReportedAt is { } at && at < end ? at : end;
        var estimated = (progress with { ReportedAt = reported }).WithEstimate(status.StartedAt, end);
        return status.Phase == TrainingPhase.Succeeded ? estimated : estimated with { EstimatedTimeRemaining = null };
    }

    private bool Wants(RunEntry entry) =>
        _publisher is { } p && (p.WantsProgress(entry.Handle.JobId) || p.WantsLogs(entry.Handle.JobId));

    private void StartFollowing(RunEntry entry, bool fromStart)
    {
        if (!_following.TryAdd(entry, 0))
        {
            return;
        }

        // A run followed from its middle starts with its latest progress, so a new subscriber sees where it is.
        if (entry.ProgressTracker.StartFollowing(fromStart, _time.GetUtcNow()) is { } latest)
        {
            _publisher!.PublishProgress(entry.Handle, latest);
        }
    }

    private void OnInterestChanged(string? jobId)
    {
        if (_disposing.IsCancellationRequested)
        {
            return;
        }

        foreach (var entry in _running.Keys)
        {
            if (jobId is not null && entry.Handle.JobId != jobId)
            {
                continue;
            }

            // Under the run's lock, so a follower is never started after the run's terminal event.
            lock (entry.Sync)
            {
                if (entry.State.Phase != TrainingPhase.Running)
                {
                    continue;
                }

                var wanted = Wants(entry);
                if (wanted && !_following.ContainsKey(entry))
                {
                    StartFollowing(entry, fromStart: false);
                }
                else if (!wanted && _following.TryRemove(entry, out _))
                {
                    entry.ProgressTracker.StopFollowing(finished: false);
                }
            }
        }
    }

    private async Task FollowLoopAsync()
    {
        var token = _disposing.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_pollInterval, _time, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            foreach (var entry in _following.Keys)
            {
                try
                {
                    entry.ProgressTracker.Follow(_publisher!, entry.Handle, finished: false, _time.GetUtcNow());
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // One unreadable log must not stop the following of every other run.
                    SubprocessLog.MonitorFailed(_logger, e);
                }
            }
        }
    }
}
