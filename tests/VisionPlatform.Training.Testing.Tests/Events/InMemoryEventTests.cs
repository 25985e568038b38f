using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace VisionPlatform.Training.Testing.Tests.Events;

// The in-memory executor publishes to the host's event source like the real executors, so a backend can test the code
// that turns events into server-sent events or WebSocket messages without processes or clusters.
public sealed class InMemoryEventTests : IAsyncDisposable
{
    private readonly FakeTimeProvider _clock = TestJobs.Clock();
    private readonly ServiceProvider _provider;

    public InMemoryEventTests()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_clock);
        services.AddTrainingExecutors(o =>
        {
            o.DefaultExecutor = "in-memory";
            o.Cost.Currency = "EUR";
            o.Cost.Default.GpuHour = 2.0m;
            o.Cost.Default.CpuHour = 0.5m;
        }).AddInMemoryExecutor();
        _provider = services.BuildServiceProvider();
    }

    private ITrainingExecutor Executor => _provider.GetRequiredKeyedService<ITrainingExecutor>(InMemoryTrainingExecutor.DefaultName);

    private TrainingClient Client => _provider.GetRequiredService<TrainingClient>();

    private InMemoryTrainingExecutor Memory => _provider.GetInMemoryExecutor();

    private ITrainingEventSource Events => _provider.GetRequiredService<ITrainingEventSource>();

    public async ValueTask DisposeAsync() => await _provider.DisposeAsync();

    [Fact]
    public async Task Transitions_progress_and_logs_arrive_in_order_with_consecutive_sequence_numbers()
    {
        await using var recorder = new TrainingEventCollector(Events, new TrainingEventSubscription { IncludeLogs = true });
        var run = await Executor.StartAsync(TestJobs.Config(epochs: 2));

        Memory.SetRunning(run);
        Memory.AppendLog(run, "loading dataset");
        _clock.Advance(TimeSpan.FromMinutes(1));
        Memory.ReportProgress(run, 1, 2, new Dictionary<string, double> { ["loss"] = 0.5 });
        _clock.Advance(TimeSpan.FromMinutes(1));
        Memory.ReportProgress(run, 2, 2, new Dictionary<string, double> { ["loss"] = 0.25 });
        Memory.Complete(run);

        var events = await recorder.WaitForAsync(e => e.OfType<TrainingPhaseChangedEvent>().Any(p => p.Status.IsTerminal), TestJobs.Patience);
        var kinds = events.Cast<TrainingRunEvent>().Select(e => e switch
        {
            TrainingPhaseChangedEvent p => p.Status.Phase.ToString(),
            TrainingProgressEvent p => "progress " + p.Progress.Epoch,
            TrainingLogEvent l => l.Line.Text.StartsWith(TrainingProgressProtocol.Prefix, StringComparison.Ordinal) ? "progress-line" : "log " + l.Line.Text,
            _ => e.GetType().Name,
        });
        kinds.Should().Equal(
            "Pending", "Running", "log loading dataset",
            "progress 1", "progress-line",
            "progress 2", "progress-line",
            "Succeeded");
        events.Cast<TrainingRunEvent>().Select(e => e.Sequence).Should().Equal(1, 2, 3, 4, 5, 6, 7, 8);
        events.Cast<TrainingRunEvent>().Should().OnlyContain(e => e.Run.Equals(run));
        var done = events.OfType<TrainingPhaseChangedEvent>().Last();
        done.PreviousPhase.Should().Be(TrainingPhase.Running);
        done.Status.Progress!.Percent.Should().Be(100);
    }

    [Fact]
    public async Task Reported_progress_is_in_the_status_with_an_estimate_and_the_final_status_has_its_cost()
    {
        var run = await Executor.StartAsync(TestJobs.Config(epochs: 4));
        Memory.SetRunning(run);
        _clock.Advance(TimeSpan.FromMinutes(10));

        var reported = Memory.ReportProgress(run, 1, 4, new Dictionary<string, double> { ["accuracy"] = 0.7 }, step: 100);

        var status = await Executor.GetStatusAsync(run);
        status.Progress.Should().BeEquivalentTo(reported.Progress);
        status.Progress!.Percent.Should().Be(25);
        status.Progress.Step.Should().Be(100);
        status.Progress.Metrics.Should().Contain("accuracy", 0.7);
        status.Progress.EstimatedTimeRemaining.Should().Be(TimeSpan.FromMinutes(30), "one epoch took 10 minutes and three are left");
        (await Executor.ListAsync()).Single().Progress!.Epoch.Should().Be(1);

        _clock.Advance(TimeSpan.FromMinutes(50));
        var final = Memory.Complete(run);

        final.Cost.Should().NotBeNull();
        final.Cost!.RunningHours.Should().BeApproximately(1.0, 1e-9);
        final.Cost.CpuHours.Should().BeApproximately(1.0, 1e-9, "a run without a CPU request counts one core");
        final.Cost.GpuHours.Should().Be(0);
        final.Cost.Amount.Should().Be(0.5m);
        final.Cost.Currency.Should().Be("EUR");
        (await Executor.GetStatusAsync(run)).Cost.Should().Be(final.Cost);
    }

    [Fact]
    public async Task Waiting_for_completion_returns_the_terminal_status_published_by_the_executor()
    {
        var run = await Executor.StartAsync(TestJobs.Config());
        Memory.SetRunning(run);
        var waiting = Client.GetOperation(run).WaitForCompletionAsync(TimeSpan.FromSeconds(30));

        Memory.Fail(run, TrainingStatusReasons.OomKilled, "out of memory", exitCode: 137);

        var final = await waiting;
        final.Phase.Should().Be(TrainingPhase.Failed);
        final.Reason.Should().Be(TrainingStatusReasons.OomKilled);
        final.Cost.Should().NotBeNull();
    }

    [Fact]
    public async Task A_single_run_subscription_starts_from_the_current_state_and_sees_only_its_run()
    {
        var other = await Executor.StartAsync(TestJobs.Config("other"));
        var run = await Executor.StartAsync(TestJobs.Config("mine"));
        Memory.SetRunning(run);
        await using var recorder = new TrainingEventCollector(Events, new TrainingEventSubscription { JobId = "mine" });

        Memory.SetRunning(other);
        await Executor.StopAsync(run);

        var events = await recorder.WaitForAsync(e => e.OfType<TrainingPhaseChangedEvent>().Any(p => p.Status.IsTerminal), TestJobs.Patience);
        events.OfType<TrainingPhaseChangedEvent>().Select(p => p.Status.Phase).Should().Equal(TrainingPhase.Running, TrainingPhase.Stopped);
        events.Cast<TrainingRunEvent>().Should().OnlyContain(e => e.JobId == "mine");
    }

    [Fact]
    public async Task Logs_are_published_only_while_someone_wants_them_and_IsFollowed_tells_when()
    {
        var run = await Executor.StartAsync(TestJobs.Config());
        Memory.SetRunning(run);
        Memory.IsFollowed(run.JobId).Should().BeFalse();

        var progressOnly = new TrainingEventCollector(Events, new TrainingEventSubscription { JobId = run.JobId, IncludeProgress = false });
        Memory.IsFollowed(run.JobId).Should().BeFalse("a subscriber without progress or logs needs no log reading");
        await progressOnly.DisposeAsync();

        var recorder = new TrainingEventCollector(Events, new TrainingEventSubscription { JobId = run.JobId, IncludeLogs = true, IncludeProgress = false });
        Memory.IsFollowed(run.JobId).Should().BeTrue();
        Memory.AppendLog(run, "epoch 1/2");
        await recorder.WaitForAsync(e => e.OfType<TrainingLogEvent>().Any(), TestJobs.Patience);
        await recorder.DisposeAsync();

        Memory.IsFollowed(run.JobId).Should().BeFalse("the subscription ended");
        var withoutLogs = new TrainingEventCollector(Events, new TrainingEventSubscription { JobId = run.JobId });
        Memory.AppendLog(run, "epoch 2/2");
        Memory.Complete(run);
        var events = await withoutLogs.WaitForAsync(e => e.OfType<TrainingPhaseChangedEvent>().Any(p => p.Status.IsTerminal), TestJobs.Patience);
        await withoutLogs.DisposeAsync();
        events.OfType<TrainingLogEvent>().Should().BeEmpty();
    }

    [Fact]
    public async Task Automatic_runs_publish_their_whole_life()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_clock);
        services.AddTrainingExecutors(o => o.DefaultExecutor = "in-memory")
            .AddInMemoryExecutor(configure: o =>
            {
                o.AutoComplete = true;
                o.AutoCompleteDelay = TimeSpan.FromMinutes(3);
                o.AutoCompleteLog = c => [TrainingProgressProtocol.Format(c.Epochs, c.Epochs), "done"];
            });
        await using var provider = services.BuildServiceProvider();
        await using var recorder = new TrainingEventCollector(provider.GetRequiredService<ITrainingEventSource>());

        var run = await provider.GetRequiredKeyedService<ITrainingExecutor>(InMemoryTrainingExecutor.DefaultName).StartAsync(TestJobs.Config(epochs: 3));
        _clock.Advance(TimeSpan.FromMinutes(3));

        var events = await recorder.WaitForAsync(e => e.OfType<TrainingPhaseChangedEvent>().Any(p => p.Status.IsTerminal), TestJobs.Patience);
        events.Select(e => e is TrainingPhaseChangedEvent p ? p.Status.Phase.ToString() : e.GetType().Name)
            .Should().Equal("Pending", "Running", nameof(TrainingProgressEvent), "Succeeded");
        var final = events.OfType<TrainingPhaseChangedEvent>().Last().Status;
        final.Run.Should().Be(run);
        final.Cost!.RunningHours.Should().BeApproximately(0.05, 1e-9);
        final.Cost.Amount.Should().BeNull("no price table is configured");
    }

    [Fact]
    public async Task An_executor_made_by_hand_publishes_nothing_but_still_keeps_progress_and_cost()
    {
        using var executor = new InMemoryTrainingExecutor(timeProvider: _clock);
        var run = await executor.StartAsync(TestJobs.Config());
        executor.SetRunning(run);
        executor.AppendLog(run, TrainingProgressProtocol.Format(1, 2));
        _clock.Advance(TimeSpan.FromHours(2));

        var final = executor.Complete(run);

        executor.IsFollowed(run.JobId).Should().BeFalse();
        final.Progress!.Epoch.Should().Be(1);
        final.Cost!.CpuHours.Should().BeApproximately(2, 1e-9);
    }

    [Fact]
    public async Task Bad_progress_arguments_are_rejected_naming_the_parameter()
    {
        var run = await Executor.StartAsync(TestJobs.Config());

        FluentActions.Invoking(() => Memory.ReportProgress(run, -1)).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("epoch");
        FluentActions.Invoking(() => Memory.ReportProgress(run, 1, 0)).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("totalEpochs");
    }
}
