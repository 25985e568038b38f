using Microsoft.Extensions.DependencyInjection;

namespace VisionPlatform.Training.Testing.Tests.Events;

public sealed class TrainingEventCollectorTests : IAsyncDisposable
{
    private readonly ServiceProvider _provider;

    public TrainingEventCollectorTests()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(TestJobs.Clock());
        services.AddTrainingExecutors(o => o.DefaultExecutor = "in-memory").AddInMemoryExecutor();
        _provider = services.BuildServiceProvider();
    }

    private InMemoryTrainingExecutor Memory => _provider.GetInMemoryExecutor();

    private ITrainingEventSource Source => _provider.GetRequiredService<ITrainingEventSource>();

    public async ValueTask DisposeAsync() => await _provider.DisposeAsync();

    [Fact]
    public async Task It_records_from_construction_and_wakes_waiters_on_each_event()
    {
        await using var collector = new TrainingEventCollector(Source, new TrainingEventSubscription { JobId = "job-1" });
        var run = await Memory.StartAsync(SampleJobs.Yolo());
        var running = collector.WaitForPhaseAsync("job-1", TrainingPhase.Running, TestJobs.Patience);
        running.IsCompleted.Should().BeFalse();

        Memory.SetRunning(run);
        (await running).Status.Phase.Should().Be(TrainingPhase.Running);
        Memory.ReportProgress(run, 1, 2);
        Memory.Complete(run);

        var terminal = await collector.WaitForTerminalAsync("job-1", TestJobs.Patience);
        terminal.Status.Phase.Should().Be(TrainingPhase.Succeeded);
        collector.OfRun<TrainingPhaseChangedEvent>("job-1").Select(e => e.Status.Phase)
            .Should().Equal(TrainingPhase.Pending, TrainingPhase.Running, TrainingPhase.Succeeded);
        (await collector.WaitForAsync<TrainingProgressEvent>(e => e.Progress.Epoch == 1, TestJobs.Patience)).JobId.Should().Be("job-1");
        collector.Failure.Should().BeNull();
    }

    [Fact]
    public async Task A_wait_that_times_out_lists_the_events_seen()
    {
        await using var collector = new TrainingEventCollector(Source);
        await Memory.StartAsync(SampleJobs.Yolo("job-2"));
        // The collector records in the background: wait until it has the Pending event (a loaded machine once took longer
        // than the short wait below to deliver it), then a wait for a phase that never comes must list it.
        await collector.WaitForPhaseAsync("job-2", TrainingPhase.Pending, TimeSpan.FromSeconds(30));

        var act = () => collector.WaitForPhaseAsync("job-2", TrainingPhase.Succeeded, TimeSpan.FromMilliseconds(200));

        await act.Should().ThrowAsync<TimeoutException>().WithMessage("*within 0.2 s*job-2#1 phase Pending/Starting*");
    }

    [Fact]
    public void Sample_jobs_are_valid_and_independent()
    {
        var builder = SampleJobs.YoloBuilder("job-3", epochs: 4, projectId: "project-1", labels: new Dictionary<string, string> { ["team"] = "vision" });
        builder.Labels["extra"] = "x";
        var config = builder.Build();
        config.Should().BeEquivalentTo(new { JobId = "job-3", Epochs = 4, ProjectId = "project-1", ModelName = "yolo11n", DatasetPath = "datasets/coco8" });
        SampleJobs.Yolo("job-3", epochs: 4, projectId: "project-1", labels: new Dictionary<string, string> { ["team"] = "vision" }).Labels.Should().NotContainKey("extra");
        SampleJobs.ForConformance(new ConformanceJobRequest { JobId = "job-4", Variant = 1 }).Build().ConfigHash
            .Should().NotBe(SampleJobs.ForConformance(new ConformanceJobRequest { JobId = "job-4" }).Build().ConfigHash);
    }
}
