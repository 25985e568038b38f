using Microsoft.Extensions.Logging;

namespace VisionPlatform.Training.Samples.RemoteExecutor;

/// <summary>
/// Observes the service in the background and publishes to the SDK's <see cref="ITrainingEventPublisher"/>, in the
/// order things happened. One request per poll whatever the number of runs (<c>GET /v1/jobs?since=&lt;version&gt;</c>, the
/// service's change feed), plus one log read per run that a subscriber follows (<see cref="ITrainingEventPublisher.WantsProgress"/>,
/// <see cref="ITrainingEventPublisher.WantsLogs"/>). Per run: <c>Pending</c> → <c>Running</c> → progress and log lines →
/// the terminal status with its cost; a run seen <c>Pending</c> and then already finished also gets its <c>Running</c>
/// event, and a followed run's log is read to its end before its terminal event, so the last epoch precedes it.
/// </summary>
internal sealed class RemoteRunMonitor : IAsyncDisposable
{
    private readonly RemoteTrainingExecutor _executor;
    private readonly RemoteTrainingApi _api;
    private readonly ITrainingEventPublisher? _events;
    private readonly TimeProvider _time;
    private readonly TimeSpan _interval;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, TrackedRun> _runs = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _starting = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _startLock = new();
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _loop;
    private long _version;
    private bool _primed;

    public RemoteRunMonitor(RemoteTrainingExecutor executor, RemoteTrainingApi api, ITrainingEventPublisher? events, TimeProvider time, TimeSpan interval, ILogger logger)
    {
        _executor = executor;
        _api = api;
        _events = events;
        _time = time;
        _interval = interval;
        _logger = logger;
        if (events is not null)
        {
            // A new subscriber may want a run's progress: look at once instead of at the next tick.
            events.InterestChanged += OnInterestChanged;
        }
    }

    /// <summary>Starts the poll loop once (only when someone listens: without a publisher there is nothing to publish).</summary>
    public void EnsureStarted()
    {
        if (_events is null || _loop is not null)
        {
            return;
        }

        lock (_startLock)
        {
            if (_loop is null && !_stopping.IsCancellationRequested)
            {
                _loop = Task.Run(() => RunAsync(_stopping.Token));
            }
        }
    }

    /// <summary>
    /// Marks a job id as being started by this host until the returned scope ends, so a poll that sees the new run
    /// before the create's answer is observed still treats it as started here (Pending first, log followed from its start).
    /// </summary>
    public IDisposable BeginStart(string jobId)
    {
        _starting.AddOrUpdate(jobId, 1, static (_, n) => n + 1);
        return new StartScope(this, jobId);
    }

    /// <summary>Publishes what a call of the executor learnt (a start, a stop), in order with what the loop publishes.</summary>
    /// <param name="record">The record the service answered with.</param>
    /// <param name="startedHere">Whether this call created the run (its whole story is published, its log followed from the start).</param>
    /// <param name="cancellationToken">Cancels waiting for the monitor.</param>
    public async Task ObserveAsync(RemoteJobRecord record, bool startedHere, CancellationToken cancellationToken)
    {
        if (_events is null)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await ObserveLockedAsync(record, startedHere, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }

        Wake();
    }

    public async ValueTask DisposeAsync()
    {
        Task? loop;
        lock (_startLock)
        {
            if (_stopping.IsCancellationRequested)
            {
                return;
            }

            _stopping.Cancel();
            loop = _loop;
        }

        if (_events is not null)
        {
            _events.InterestChanged -= OnInterestChanged;
        }

        if (loop is not null)
        {
            try
            {
                await loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopping.
            }
        }

        _stopping.Dispose();
        _gate.Dispose();
    }

    private void OnInterestChanged(string? jobId) => Wake();

    private void Wake() => Interlocked.Exchange(ref _wake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    private async Task RunAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            var wake = Volatile.Read(ref _wake).Task;
            try
            {
                await PollAsync(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (TrainingException e)
            {
                // The service is down or answered badly: try again at the next tick; routing learns it from its own probes.
                RemoteExecutorLog.PollFailed(_logger, _executor.Name, e.Message);
            }

            await Task.WhenAny(wake, Task.Delay(_interval, _time, stopping)).ConfigureAwait(false);
        }
    }

    private async Task PollAsync(CancellationToken stopping)
    {
        await _gate.WaitAsync(stopping).ConfigureAwait(false);
        try
        {
            var page = await _api.ListAsync(_version, projectId: null, labels: null, stopping).ConfigureAwait(false);
            foreach (var record in page.Jobs.OrderBy(r => r.Version))
            {
                if (!_primed && record.IsFinal && !_runs.ContainsKey(record.JobId))
                {
                    // Finished before this host looked: nothing happened to it that subscribers have not missed anyway.
                    continue;
                }

                await ObserveLockedAsync(record, startedHere: _starting.ContainsKey(record.JobId), stopping).ConfigureAwait(false);
            }

            _version = Math.Max(_version, page.Version);
            _primed = true;

            // Followed runs that are running: new log lines (progress, and log events for subscribers that asked).
            foreach (var run in _runs.Values.Where(r => r.Last is { Phase: TrainingPhase.Running }).ToArray())
            {
                await FollowAsync(run, drain: false, stopping).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task ObserveLockedAsync(RemoteJobRecord record, bool startedHere, CancellationToken cancellationToken)
    {
        var events = _events!;
        if (!_runs.TryGetValue(record.JobId, out var run) || !string.Equals(run.RunId, record.RunId, StringComparison.Ordinal))
        {
            // A new run (or the job id reused after the service's retention removed the old record).
            run = new TrackedRun(_executor.Handle(record), followFromStart: startedHere || record.State == RemoteJobStates.Queued);
            _runs[record.JobId] = run;
        }

        if (run.Last is { IsTerminal: true } || record.Version < run.Version)
        {
            return;
        }

        run.Version = record.Version;
        var status = _executor.ToStatus(record);
        if (run.Last is null && startedHere && status.Phase != TrainingPhase.Pending)
        {
            // Started by this host and already past Pending when the answer came: every run is accepted before it runs.
            Publish(run, status with { Phase = TrainingPhase.Pending, Reason = TrainingStatusReasons.Starting, StartedAt = null, FinishedAt = null, ExitCode = null, Cost = null, Progress = null });
        }

        if (status.IsTerminal && run.Last is null && !run.FollowFromStart)
        {
            // First seen already finished (an idempotent repeat of a finished job's start, a run of another host): its
            // final state only; its history is what GetLogsAsync is for.
            Publish(run, status);
            _runs.Remove(record.JobId);
            return;
        }

        if (status.IsTerminal)
        {
            if (run.Last is null or { Phase: TrainingPhase.Pending } && record.StartedAt is not null)
            {
                // Seen pending (or not at all) and now finished: it ran in between; say so, in order.
                Publish(run, status with { Phase = TrainingPhase.Running, Reason = TrainingStatusReasons.Running, FinishedAt = null, ExitCode = null, Cost = null, Progress = null });
            }

            // The rest of the log before the terminal event, so the last epoch's progress precedes it.
            await FollowAsync(run, drain: true, cancellationToken).ConfigureAwait(false);
            Publish(run, _executor.ToStatus(record));
            _executor.ForgetProgress(record.RunId);
            _runs.Remove(record.JobId);
            return;
        }

        Publish(run, status);
        if (status.Phase == TrainingPhase.Running)
        {
            await FollowAsync(run, drain: false, cancellationToken).ConfigureAwait(false);
        }

        void Publish(TrackedRun tracked, TrainingRunStatus published)
        {
            tracked.Last = published;
            events.PublishStatus(published);
        }
    }

    /// <summary>Reads a followed run's new log lines and publishes their progress (and the lines, for log subscribers).</summary>
    private async Task FollowAsync(TrackedRun run, bool drain, CancellationToken cancellationToken)
    {
        var events = _events!;
        var jobId = run.Run.JobId;
        var wantsLogs = events.WantsLogs(jobId);
        if (!wantsLogs && !events.WantsProgress(jobId))
        {
            return;
        }

        if (run.NextLine is null && !run.FollowFromStart)
        {
            // Someone became interested in a run that was already going: its latest progress, then new lines only.
            var tail = await _api.GetLogsAsync(jobId, from: null, tail: 200, cancellationToken).ConfigureAwait(false);
            if (tail is null)
            {
                return;
            }

            if (RemoteTrainingExecutor.LatestProgress(tail.Lines) is { } latest)
            {
                _executor.RememberProgress(run.RunId, latest);
                events.PublishProgress(run.Run, latest);
            }

            run.NextLine = tail.Next;
        }

        while (true)
        {
            var page = await _api.GetLogsAsync(jobId, from: run.NextLine ?? 0, tail: null, cancellationToken).ConfigureAwait(false);
            if (page is null)
            {
                return;
            }

            foreach (var line in page.Lines)
            {
                if (TrainingProgressProtocol.TryParse(line.Text, line.Time, out var progress))
                {
                    _executor.RememberProgress(run.RunId, progress);
                    events.PublishProgress(run.Run, progress);
                }

                if (wantsLogs)
                {
                    events.PublishLog(run.Run, new TrainingLogLine(line.Text, line.Time));
                }
            }

            run.NextLine = page.Next;
            if (!drain || page.Complete || page.Lines.Count == 0)
            {
                return;
            }
        }
    }

    private sealed class StartScope(RemoteRunMonitor monitor, string jobId) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0 &&
                monitor._starting.AddOrUpdate(jobId, 0, static (_, n) => n - 1) <= 0)
            {
                monitor._starting.TryRemove(KeyValuePair.Create(jobId, 0));
            }
        }
    }

    private sealed class TrackedRun(TrainingRun run, bool followFromStart)
    {
        public TrainingRun Run { get; } = run;

        public string RunId => Run.ResourceId;

        /// <summary>Whether this host saw the run before it ran, so its log is followed from the first line.</summary>
        public bool FollowFromStart { get; } = followFromStart;

        public TrainingRunStatus? Last { get; set; }

        public long Version { get; set; }

        public int? NextLine { get; set; }
    }
}
