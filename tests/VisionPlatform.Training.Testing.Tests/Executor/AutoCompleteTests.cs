namespace VisionPlatform.Training.Testing.Tests.Executor;

public class AutoCompleteTests
{
    private readonly Microsoft.Extensions.Time.Testing.FakeTimeProvider _clock = TestJobs.Clock();

    private InMemoryTrainingExecutor Automatic(Action<InMemoryExecutorOptions>? configure = null)
    {
        var options = new InMemoryExecutorOptions { AutoComplete = true, AutoCompleteDelay = TimeSpan.FromSeconds(30) };
        configure?.Invoke(options);
        return new InMemoryTrainingExecutor(options: options, timeProvider: _clock);
    }

    [Fact]
    public async Task An_automatic_run_runs_at_once_and_succeeds_after_the_delay_with_a_log()
    {
        using var executor = Automatic();
        var run = await executor.StartAsync(TestJobs.Config(epochs: 2));

        (await executor.GetStatusAsync(run)).Phase.Should().Be(TrainingPhase.Running);
        _clock.Advance(TimeSpan.FromSeconds(29));
        (await executor.GetStatusAsync(run)).Phase.Should().Be(TrainingPhase.Running);
        _clock.Advance(TimeSpan.FromSeconds(1));

        var status = await executor.GetStatusAsync(run);
        status.Phase.Should().Be(TrainingPhase.Succeeded);
        status.StartedAt.Should().Be(TestJobs.Epoch);
        status.FinishedAt.Should().Be(TestJobs.Epoch.AddSeconds(30));
        var log = await TestJobs.ToListAsync(executor.GetLogsAsync(run));
        log.Select(l => l.Text).Where(t => !t.StartsWith(TrainingProgressProtocol.Prefix, StringComparison.Ordinal)).Should().Equal("epoch 1/2", "epoch 2/2", "training finished");
        log.Count(l => l.Text.StartsWith(TrainingProgressProtocol.Prefix, StringComparison.Ordinal)).Should().Be(2, "an automatic run reports progress per epoch");
        status.Progress.Should().BeEquivalentTo(new { Epoch = 2, TotalEpochs = 2 });
    }

    [Fact]
    public async Task A_follower_sees_the_automatic_run_through_to_the_end()
    {
        using var executor = Automatic(o => o.AutoCompleteLog = c => [$"training {c.ModelName}"]);
        var run = await executor.StartAsync(TestJobs.Config());
        var following = TestJobs.ToListAsync(executor.GetLogsAsync(run, new TrainingLogOptions { Follow = true }));
        var watching = TestJobs.ToListAsync(executor.WatchAsync(run));

        _clock.Advance(TimeSpan.FromSeconds(30));

        (await following).Select(l => l.Text).Should().Equal("training yolo11n");
        (await watching).Select(s => s.Phase).Should().Equal(TrainingPhase.Running, TrainingPhase.Succeeded);
    }

    [Fact]
    public async Task An_automatic_run_can_finish_with_a_failing_exit_code()
    {
        using var executor = Automatic(o => o.AutoCompleteExitCode = 1);
        var run = await executor.StartAsync(TestJobs.Config());

        _clock.Advance(TimeSpan.FromSeconds(30));

        var status = await executor.GetStatusAsync(run);
        status.Phase.Should().Be(TrainingPhase.Failed);
        status.ExitCode.Should().Be(1);
    }

    [Fact]
    public async Task A_zero_delay_finishes_the_run_inside_start()
    {
        using var executor = Automatic(o => o.AutoCompleteDelay = TimeSpan.Zero);

        var run = await executor.StartAsync(TestJobs.Config());

        (await executor.GetStatusAsync(run)).Phase.Should().Be(TrainingPhase.Succeeded);
    }

    [Fact]
    public async Task Stopping_an_automatic_run_cancels_its_completion()
    {
        using var executor = Automatic();
        var run = await executor.StartAsync(TestJobs.Config());

        await executor.StopAsync(run);
        _clock.Advance(TimeSpan.FromMinutes(5));

        var status = await executor.GetStatusAsync(run);
        status.Phase.Should().Be(TrainingPhase.Stopped);
        (await TestJobs.ToListAsync(executor.GetLogsAsync(run))).Should().BeEmpty();
    }

    [Fact]
    public async Task A_test_can_finish_an_automatic_run_first()
    {
        using var executor = Automatic();
        var run = await executor.StartAsync(TestJobs.Config());

        executor.Fail(run, TrainingStatusReasons.OomKilled);
        _clock.Advance(TimeSpan.FromMinutes(5));

        (await executor.GetStatusAsync(run)).Reason.Should().Be(TrainingStatusReasons.OomKilled);
    }

    [Fact]
    public async Task Disposing_the_executor_cancels_pending_completions()
    {
        var executor = Automatic();
        var run = await executor.StartAsync(TestJobs.Config());

        executor.Dispose();
        _clock.Advance(TimeSpan.FromMinutes(5));

        (await executor.GetStatusAsync(run)).Phase.Should().Be(TrainingPhase.Running);
    }

    [Fact]
    public async Task The_system_clock_works_too()
    {
        using var executor = new InMemoryTrainingExecutor(options: new InMemoryExecutorOptions { AutoComplete = true, AutoCompleteDelay = TimeSpan.FromMilliseconds(50) });
        var run = await executor.StartAsync(TestJobs.Config());

        var statuses = await TestJobs.ToListAsync(executor.WatchAsync(run));

        statuses[^1].Phase.Should().Be(TrainingPhase.Succeeded);
    }
}
