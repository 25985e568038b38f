namespace VisionPlatform.Training.Testing.Tests.Executor;

public class LogTests
{
    private readonly Microsoft.Extensions.Time.Testing.FakeTimeProvider _clock = TestJobs.Clock();
    private readonly InMemoryTrainingExecutor _executor;

    public LogTests() => _executor = new InMemoryTrainingExecutor(timeProvider: _clock);

    [Fact]
    public async Task The_whole_log_comes_back_in_order_without_timestamps_by_default()
    {
        var run = await _executor.StartAsync(TestJobs.Config());
        _executor.AppendLog(run, "one", "two");
        _executor.AppendLog(run, "three");

        var lines = await TestJobs.ToListAsync(_executor.GetLogsAsync(run));

        lines.Select(l => l.Text).Should().Equal("one", "two", "three");
        lines.Should().OnlyContain(l => l.Timestamp == null && l.Attempt == 1);
    }

    [Fact]
    public async Task Timestamps_come_from_the_executor_clock_when_asked()
    {
        var run = await _executor.StartAsync(TestJobs.Config());
        _executor.AppendLog(run, "first");
        _clock.Advance(TimeSpan.FromSeconds(10));
        _executor.AppendLog(run, "second");

        var lines = await TestJobs.ToListAsync(_executor.GetLogsAsync(run, new TrainingLogOptions { Timestamps = true }));

        lines.Select(l => l.Timestamp).Should().Equal(TestJobs.Epoch, TestJobs.Epoch.AddSeconds(10));
    }

    [Fact]
    public async Task Tail_and_since_select_lines()
    {
        var run = await _executor.StartAsync(TestJobs.Config());
        _executor.AppendLog(run, "a", "b");
        _clock.Advance(TimeSpan.FromSeconds(10));
        _executor.AppendLog(run, "c", "d", "e");

        var tail = await TestJobs.ToListAsync(_executor.GetLogsAsync(run, new TrainingLogOptions { TailLines = 2 }));
        var since = await TestJobs.ToListAsync(_executor.GetLogsAsync(run, new TrainingLogOptions { Since = TestJobs.Epoch.AddSeconds(5) }));
        var both = await TestJobs.ToListAsync(_executor.GetLogsAsync(run, new TrainingLogOptions { Since = TestJobs.Epoch.AddSeconds(10), TailLines = 1 }));
        var none = await TestJobs.ToListAsync(_executor.GetLogsAsync(run, new TrainingLogOptions { TailLines = 0 }));
        var more = await TestJobs.ToListAsync(_executor.GetLogsAsync(run, new TrainingLogOptions { TailLines = 100 }));

        tail.Select(l => l.Text).Should().Equal("d", "e");
        since.Select(l => l.Text).Should().Equal("c", "d", "e");
        both.Select(l => l.Text).Should().Equal("e");
        none.Should().BeEmpty();
        more.Should().HaveCount(5);
    }

    [Fact]
    public async Task Follow_streams_new_lines_and_ends_once_the_run_is_finished_and_drained()
    {
        var run = await _executor.StartAsync(TestJobs.Config());
        _executor.SetRunning(run);
        _executor.AppendLog(run, "old-1", "old-2");
        var seen = new List<string>();
        var following = Task.Run(async () =>
        {
            await foreach (var line in _executor.GetLogsAsync(run, new TrainingLogOptions { Follow = true, TailLines = 1 }))
            {
                lock (seen)
                {
                    seen.Add(line.Text);
                }
            }
        });

        await TestJobs.EventuallyAsync(() => { lock (seen) { return seen.Count == 1; } }, "the tail line arrives");
        _executor.AppendLog(run, "epoch 1/2");
        await TestJobs.EventuallyAsync(() => { lock (seen) { return seen.Count == 2; } }, "a new line is pushed to the follower");
        following.IsCompleted.Should().BeFalse("the run is still running");

        _executor.AppendLog(run, "epoch 2/2");
        _executor.Complete(run, 0);
        await following.WaitAsync(TimeSpan.FromSeconds(30));

        seen.Should().Equal("old-2", "epoch 1/2", "epoch 2/2");
    }

    [Fact]
    public async Task Follow_of_a_finished_run_returns_its_log_and_ends()
    {
        var run = await _executor.StartAsync(TestJobs.Config());
        _executor.AppendLog(run, "only line");
        _executor.Fail(run, TrainingStatusReasons.LaunchFailed, "python3 not found");

        var lines = await TestJobs.ToListAsync(_executor.GetLogsAsync(run, new TrainingLogOptions { Follow = true }));

        lines.Select(l => l.Text).Should().Equal("only line");
    }

    [Fact]
    public async Task Follow_ends_when_the_run_is_stopped()
    {
        var run = await _executor.StartAsync(TestJobs.Config());
        var following = TestJobs.ToListAsync(_executor.GetLogsAsync(run, new TrainingLogOptions { Follow = true }));

        await _executor.StopAsync(run);

        (await following).Should().BeEmpty();
    }

    [Fact]
    public async Task Follow_ends_when_its_token_is_cancelled()
    {
        var run = await _executor.StartAsync(TestJobs.Config());
        using var cts = new CancellationTokenSource();
        var following = TestJobs.ToListAsync(_executor.GetLogsAsync(run, new TrainingLogOptions { Follow = true }, cts.Token));

        await cts.CancelAsync();

        await FluentActions.Awaiting(() => following).Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public async Task Logs_of_an_unknown_run_are_RunNotFound()
    {
        var act = () => TestJobs.ToListAsync(_executor.GetLogsAsync(new TrainingRun("in-memory", "nope", "run-1")));

        var error = (await act.Should().ThrowAsync<TrainingException>()).Which;
        error.Code.Should().Be(TrainingErrorCode.RunNotFound);
        error.JobId.Should().Be("nope");
    }

    [Fact]
    public async Task A_negative_tail_is_rejected_naming_the_field()
    {
        var run = await _executor.StartAsync(TestJobs.Config());

        var act = () => TestJobs.ToListAsync(_executor.GetLogsAsync(run, new TrainingLogOptions { TailLines = -1 }));

        var error = (await act.Should().ThrowAsync<TrainingValidationException>()).Which;
        error.Errors.Should().ContainSingle().Which.Should().Be(new TrainingValidationError("TailLines", "-1", "must be 0 or more"));
    }

    [Fact]
    public async Task The_log_of_a_finished_run_is_closed()
    {
        var run = await _executor.StartAsync(TestJobs.Config());
        _executor.Complete(run);

        FluentActions.Invoking(() => _executor.AppendLog(run, "late")).Should().Throw<InvalidOperationException>()
            .WithMessage("*job-1*Succeeded*log is closed*");
        FluentActions.Invoking(() => _executor.AppendLog(run, [null!])).Should().Throw<ArgumentException>();
    }

    [Fact]
    public async Task A_node_rank_must_be_a_node_of_the_run()
    {
        var group = TestJobs.Config().ToBuilder();
        group.Framework = TrainingFramework.PyTorch;
        group.Distribution = new TrainingDistribution { Nodes = 2 };
        var run = await _executor.StartAsync(group.Build());
        _executor.AppendLog(run, "one");

        (await TestJobs.ToListAsync(_executor.GetLogsAsync(run, new TrainingLogOptions { NodeRank = 1 }))).Should().ContainSingle();
        var act = () => TestJobs.ToListAsync(_executor.GetLogsAsync(run, new TrainingLogOptions { NodeRank = 2 }));

        var error = (await act.Should().ThrowAsync<TrainingValidationException>()).Which.Errors.Single();
        error.ToString().Should().Be("NodeRank: value '2' is invalid: must be between 0 and 1, a node of the run (it has 2)");
    }
}
