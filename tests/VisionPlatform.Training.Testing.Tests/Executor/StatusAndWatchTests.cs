namespace VisionPlatform.Training.Testing.Tests.Executor;

public class StatusAndWatchTests
{
    private readonly Microsoft.Extensions.Time.Testing.FakeTimeProvider _clock = TestJobs.Clock();
    private readonly InMemoryTrainingExecutor _executor;

    public StatusAndWatchTests() => _executor = new InMemoryTrainingExecutor(timeProvider: _clock);

    [Fact]
    public async Task Unknown_runs_report_NotFound_rather_than_throwing()
    {
        var started = await _executor.StartAsync(TestJobs.Config());
        var unknowns = new[]
        {
            new TrainingRun("in-memory", "other-job", "run-000001"),
            new TrainingRun("subprocess", started.JobId, started.ResourceId),
            new TrainingRun("in-memory", started.JobId, "run-999999"),
        };

        foreach (var unknown in unknowns)
        {
            var status = await _executor.GetStatusAsync(unknown);
            status.Phase.Should().Be(TrainingPhase.NotFound);
            status.Reason.Should().Be(TrainingStatusReasons.NotFound);
            status.Run.Should().Be(unknown);
            status.IsTerminal.Should().BeTrue();
        }
    }

    [Fact]
    public async Task A_handle_rebuilt_from_its_string_finds_the_run()
    {
        var run = await _executor.StartAsync(TestJobs.Config());
        _executor.SetRunning(run);

        var rebuilt = TrainingRun.Parse(run.ToString());

        (await _executor.GetStatusAsync(rebuilt)).Phase.Should().Be(TrainingPhase.Running);
    }

    [Fact]
    public async Task Watch_pushes_each_change_and_ends_at_the_terminal_status()
    {
        var run = await _executor.StartAsync(TestJobs.Config());
        var seen = new List<TrainingRunStatus>();
        var watching = Task.Run(async () =>
        {
            await foreach (var status in _executor.WatchAsync(run))
            {
                lock (seen)
                {
                    seen.Add(status);
                }
            }
        });

        await TestJobs.EventuallyAsync(() => { lock (seen) { return seen.Count == 1; } }, "the watch yields the current status");
        _executor.SetPending(run, TrainingStatusReasons.WaitingForGpu);
        await TestJobs.EventuallyAsync(() => { lock (seen) { return seen.Count == 2; } }, "the watch yields the pending change");
        _executor.SetRunning(run);
        _executor.AppendLog(run, "log lines are not status changes");
        _executor.Complete(run, 1);
        await watching.WaitAsync(TimeSpan.FromSeconds(30));

        seen.Select(s => (s.Phase, s.Reason)).Should().Equal(
            (TrainingPhase.Pending, TrainingStatusReasons.Starting),
            (TrainingPhase.Pending, TrainingStatusReasons.WaitingForGpu),
            (TrainingPhase.Running, TrainingStatusReasons.Running),
            (TrainingPhase.Failed, TrainingStatusReasons.NonZeroExitCode));
    }

    [Fact]
    public async Task Watch_of_a_finished_run_yields_its_final_status_only()
    {
        var run = await _executor.StartAsync(TestJobs.Config());
        _executor.SetRunning(run);
        _executor.Complete(run);

        var seen = await TestJobs.ToListAsync(_executor.WatchAsync(run));

        seen.Should().ContainSingle().Which.Phase.Should().Be(TrainingPhase.Succeeded);
    }

    [Fact]
    public async Task Watch_of_an_unknown_run_yields_NotFound_and_ends()
    {
        var seen = await TestJobs.ToListAsync(_executor.WatchAsync(new TrainingRun("in-memory", "nope", "run-1")));

        seen.Should().ContainSingle().Which.Phase.Should().Be(TrainingPhase.NotFound);
    }

    [Fact]
    public async Task Watch_ends_when_its_token_is_cancelled()
    {
        var run = await _executor.StartAsync(TestJobs.Config());
        using var cts = new CancellationTokenSource();
        var seen = 0;

        var watching = Task.Run(async () =>
        {
            await foreach (var _ in _executor.WatchAsync(run, cts.Token))
            {
                Interlocked.Increment(ref seen);
            }
        });
        await TestJobs.EventuallyAsync(() => Volatile.Read(ref seen) == 1, "the watch yields the current status");
        await cts.CancelAsync();

        await FluentActions.Awaiting(() => watching.WaitAsync(TimeSpan.FromSeconds(30))).Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public async Task Stop_stops_a_running_run_once()
    {
        var run = await _executor.StartAsync(TestJobs.Config());
        _executor.SetRunning(run);
        _clock.Advance(TimeSpan.FromSeconds(30));

        var stopped = await _executor.StopAsync(run);
        _clock.Advance(TimeSpan.FromSeconds(30));
        var again = await _executor.StopAsync(run, new TrainingStopOptions { GracePeriod = TimeSpan.Zero });

        stopped.Phase.Should().Be(TrainingPhase.Stopped);
        stopped.Reason.Should().Be(TrainingStatusReasons.StoppedByUser);
        stopped.FinishedAt.Should().Be(TestJobs.Epoch.AddSeconds(30));
        again.Should().Be(stopped);
        (await TestJobs.ToListAsync(_executor.WatchAsync(run))).Should().ContainSingle().Which.Should().Be(stopped);
    }

    [Fact]
    public async Task Stop_of_a_pending_run_stops_it()
    {
        var run = await _executor.StartAsync(TestJobs.Config());

        (await _executor.StopAsync(run)).Phase.Should().Be(TrainingPhase.Stopped);
    }

    [Fact]
    public async Task Stop_leaves_a_finished_run_as_it_is()
    {
        var run = await _executor.StartAsync(TestJobs.Config());
        var succeeded = _executor.Complete(run, 0);

        (await _executor.StopAsync(run)).Should().Be(succeeded);
    }

    [Fact]
    public async Task Stop_of_an_unknown_run_reports_NotFound()
    {
        var status = await _executor.StopAsync(new TrainingRun("in-memory", "nope", "run-1"));

        status.Phase.Should().Be(TrainingPhase.NotFound);
    }

    [Fact]
    public async Task Stop_rejects_a_negative_grace_period_before_stopping()
    {
        var run = await _executor.StartAsync(TestJobs.Config());

        var act = () => _executor.StopAsync(run, new TrainingStopOptions { GracePeriod = TimeSpan.FromSeconds(-1) });

        var error = (await act.Should().ThrowAsync<TrainingValidationException>()).Which;
        error.Errors.Should().ContainSingle().Which.Field.Should().Be("GracePeriod");
        (await _executor.GetStatusAsync(run)).Phase.Should().Be(TrainingPhase.Pending);
    }

    [Fact]
    public async Task Watch_yields_a_status_only_when_it_changes_not_for_progress()
    {
        var run = await _executor.StartAsync(TestJobs.Config());
        var first = await _executor.GetStatusAsync(run);
        var watching = TestJobs.ToListAsync(_executor.WatchAsync(run));

        _executor.SetPending(run, TrainingStatusReasons.WaitingForSlot);
        _executor.SetPending(run, TrainingStatusReasons.WaitingForSlot);
        _executor.SetRunning(run);
        _executor.ReportProgress(run, 1, 3);
        _executor.ReportProgress(run, 2, 3);
        _executor.ReportProgress(run, 3, 3);
        _executor.Complete(run, exitCode: 0);
        var seen = await watching;

        seen.Select(s => (s.Phase, s.Reason)).Should().Equal(
            (first.Phase, first.Reason),
            (TrainingPhase.Pending, TrainingStatusReasons.WaitingForSlot),
            (TrainingPhase.Running, TrainingStatusReasons.Running),
            (TrainingPhase.Succeeded, TrainingStatusReasons.Completed));
        seen[^1].Progress!.Epoch.Should().Be(3, "the latest progress rides along on the next status");
    }
}
