using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace VisionPlatform.Training.Testing.Tests.Sample;

// The pattern backend teams copy: register the SDK as in production, swap the executor for the in-memory one,
// drive the run from the test, and assert on what the service returns.
public sealed class TrainingJobsServiceTests : IAsyncDisposable
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));
    private readonly ServiceProvider _provider;
    private readonly TrainingJobsService _service;
    private readonly InMemoryTrainingExecutor _executor;

    public TrainingJobsServiceTests()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_clock);
        services.AddTrainingExecutors(o => o.DefaultExecutor = "in-memory")
            .AddInMemoryExecutor()
            // Listing and finding runs ask every registered executor; standing in for the built-in subprocess
            // executor keeps the test away from the machine's real run directory.
            .AddInMemoryExecutor(TrainingExecutorNames.Subprocess);
        services.AddSingleton<TrainingJobsService>();
        _provider = services.BuildServiceProvider();
        _service = _provider.GetRequiredService<TrainingJobsService>();
        _executor = _provider.GetInMemoryExecutor();
    }

    public ValueTask DisposeAsync() => _provider.DisposeAsync();

    private static StartTrainingRequest Request(string jobId = "job-42", int epochs = 5) =>
        new(jobId, "project-7", "ultralytics", "object_detection", "yolo11n", "datasets/coco8", "yolo", epochs);

    [Fact]
    public async Task Starting_a_job_returns_a_handle_and_starts_exactly_that_job()
    {
        var result = await _service.StartAsync(Request());

        result.Outcome.Should().Be(StartOutcome.Started);
        result.Handle.Should().NotBeNullOrEmpty();
        var started = _executor.StartedJobs.Should().ContainSingle().Subject;
        started.JobId.Should().Be("job-42");
        started.ModelName.Should().Be("yolo11n");
        started.Epochs.Should().Be(5);
        started.Labels.Should().Contain("project-id", "project-7");
        (await _service.GetAsync(result.Handle!))!.State.Should().Be("queued");
    }

    [Fact]
    public async Task A_job_is_reported_as_it_runs_and_finishes()
    {
        var handle = (await _service.StartAsync(Request())).Handle!;
        var run = TrainingRun.Parse(handle);

        _executor.SetRunning(run);
        var running = await _service.GetAsync(handle);
        _executor.AppendLog(run, "epoch 1/5", "epoch 5/5", "mAP50 0.61");
        _clock.Advance(TimeSpan.FromMinutes(12));
        _executor.Complete(run, exitCode: 0);
        var done = await _service.GetAsync(handle);

        running!.State.Should().Be("running");
        done.Should().BeEquivalentTo(new
        {
            JobId = "job-42",
            State = "succeeded",
            ExitCode = 0,
            StartedAt = _clock.Start,
            FinishedAt = _clock.Start.AddMinutes(12),
        });
        (await _service.GetLogTailAsync(handle, 1)).Should().Equal("mAP50 0.61");
    }

    [Fact]
    public async Task A_failed_job_carries_the_reason_to_the_client()
    {
        var handle = (await _service.StartAsync(Request())).Handle!;

        _executor.Fail(TrainingRun.Parse(handle), TrainingStatusReasons.OomKilled, "the trainer ran out of memory", 137);

        var job = await _service.GetAsync(handle);
        job!.State.Should().Be("failed");
        job.Reason.Should().Be("OOMKilled");
        job.Message.Should().Be("the trainer ran out of memory");
    }

    [Fact]
    public async Task A_bad_request_is_rejected_field_by_field_and_starts_nothing()
    {
        var result = await _service.StartAsync(Request(jobId: "", epochs: 0) with { DatasetFormat = "YOLO!" });

        result.Outcome.Should().Be(StartOutcome.Invalid);
        result.Errors.Should().ContainKeys("JobId", "Epochs", "DatasetFormat");
        result.Errors!["Epochs"].Should().ContainSingle().Which.Should().Contain("between 1 and 100000");
        _executor.StartedJobs.Should().BeEmpty();
    }

    [Fact]
    public async Task A_retried_request_returns_the_same_handle_and_a_changed_one_conflicts()
    {
        var first = await _service.StartAsync(Request());
        var retried = await _service.StartAsync(Request());
        var changed = await _service.StartAsync(Request(epochs: 50));

        retried.Handle.Should().Be(first.Handle);
        changed.Outcome.Should().Be(StartOutcome.Conflict);
        changed.Message.Should().Contain("job-42");
        _executor.StartedJobs.Should().ContainSingle();
    }

    [Fact]
    public async Task When_the_executor_is_down_the_client_is_told_to_come_back_later()
    {
        _executor.SetAvailable(false, "the Kubernetes API server is unreachable");

        var result = await _service.StartAsync(Request());

        result.Outcome.Should().Be(StartOutcome.Unavailable);
        result.Message.Should().Contain("unreachable");
    }

    [Fact]
    public async Task Cancelling_a_job_stops_it_and_a_second_cancel_changes_nothing()
    {
        var handle = (await _service.StartAsync(Request())).Handle!;
        _executor.SetRunning(TrainingRun.Parse(handle));

        var cancelled = await _service.CancelAsync(handle);
        var again = await _service.CancelAsync(handle);

        cancelled!.State.Should().Be("cancelled");
        again.Should().Be(cancelled);
    }

    [Fact]
    public async Task Unknown_and_malformed_handles_are_not_found()
    {
        (await _service.GetAsync("not a handle")).Should().BeNull();
        (await _service.GetAsync(new TrainingRun("in-memory", "ghost", "run-000009").ToString())).Should().BeNull();
        (await _service.CancelAsync("run1/x")).Should().BeNull();
    }

    [Fact]
    public async Task Listing_a_project_shows_its_active_jobs()
    {
        var a = (await _service.StartAsync(Request("a"))).Handle!;
        await _service.StartAsync(Request("b"));
        await _service.StartAsync(Request("c") with { ProjectId = "other" });
        _executor.Complete(TrainingRun.Parse(a), 0);

        (await _service.ListProjectAsync("project-7", activeOnly: false)).Select(j => j.JobId).Should().Equal("a", "b");
        (await _service.ListProjectAsync("project-7", activeOnly: true)).Select(j => j.JobId).Should().Equal("b");
    }

    [Fact]
    public async Task Waiting_for_a_job_ends_when_it_finishes_on_its_own()
    {
        // Automatic mode: runs finish after a delay on the fake clock, without the test driving each step.
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_clock);
        services.AddTrainingExecutors(o => o.DefaultExecutor = "in-memory")
            .AddInMemoryExecutor(configure: o =>
            {
                o.AutoComplete = true;
                o.AutoCompleteDelay = TimeSpan.FromMinutes(30);
            });
        services.AddSingleton<TrainingJobsService>();
        await using var provider = services.BuildServiceProvider();
        var service = provider.GetRequiredService<TrainingJobsService>();

        var handle = (await service.StartAsync(Request(epochs: 3))).Handle!;
        var waiting = service.WaitAsync(handle);
        waiting.IsCompleted.Should().BeFalse();
        _clock.Advance(TimeSpan.FromMinutes(30));

        var job = await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        job.State.Should().Be("succeeded");
        var tail = await service.GetLogTailAsync(handle, 3);
        tail.Should().HaveCount(3);
        tail[0].Should().Be("epoch 3/3");
        tail[1].Should().StartWith(TrainingProgressProtocol.Prefix, "an automatic run reports progress after each epoch");
        tail[2].Should().Be("training finished");
    }
}
