namespace VisionPlatform.Training.Testing.Tests.Executor;

public class QueryAndAvailabilityTests
{
    private readonly Microsoft.Extensions.Time.Testing.FakeTimeProvider _clock = TestJobs.Clock();
    private readonly InMemoryTrainingExecutor _executor;

    public QueryAndAvailabilityTests() => _executor = new InMemoryTrainingExecutor(timeProvider: _clock);

    [Fact]
    public async Task List_returns_every_run_in_start_order_and_applies_each_filter()
    {
        var a = await _executor.StartAsync(TestJobs.Config("a", projectId: "p1", labels: new Dictionary<string, string> { ["team"] = "vision", ["tier"] = "gold" }));
        var b = await _executor.StartAsync(TestJobs.Config("b", projectId: "p1", labels: new Dictionary<string, string> { ["team"] = "vision" }));
        var c = await _executor.StartAsync(TestJobs.Config("c", projectId: "p2"));
        _executor.SetRunning(a);
        _executor.Complete(c, 0);

        (await _executor.ListAsync()).Select(s => s.JobId).Should().Equal("a", "b", "c");
        (await _executor.ListAsync(TrainingRunQuery.All)).Should().HaveCount(3);
        (await _executor.ListAsync(new TrainingRunQuery { ProjectId = "p1" })).Select(s => s.JobId).Should().Equal("a", "b");
        (await _executor.ListAsync(new TrainingRunQuery { Phases = [TrainingPhase.Running, TrainingPhase.Succeeded] })).Select(s => s.JobId).Should().Equal("a", "c");
        (await _executor.ListAsync(new TrainingRunQuery { Phases = [] })).Should().HaveCount(3);
        (await _executor.ListAsync(new TrainingRunQuery { Labels = new Dictionary<string, string> { ["team"] = "vision" } })).Select(s => s.JobId).Should().Equal("a", "b");
        (await _executor.ListAsync(new TrainingRunQuery { Labels = new Dictionary<string, string> { ["team"] = "vision", ["tier"] = "gold" } })).Select(s => s.JobId).Should().Equal("a");
        (await _executor.ListAsync(new TrainingRunQuery { ProjectId = "p1", Phases = [TrainingPhase.Pending] })).Select(s => s.Run).Should().Equal(b);
        (await _executor.ListAsync(new TrainingRunQuery { ProjectId = "nope" })).Should().BeEmpty();
    }

    [Fact]
    public async Task List_reports_current_statuses()
    {
        var run = await _executor.StartAsync(TestJobs.Config());
        var failed = _executor.Fail(run, TrainingStatusReasons.ImagePullBackOff, "image not found");

        (await _executor.ListAsync()).Should().ContainSingle().Which.Should().Be(failed);
    }

    [Fact]
    public async Task Find_returns_the_handle_of_a_job_id_or_null()
    {
        var run = await _executor.StartAsync(TestJobs.Config("job-7"));

        (await _executor.FindAsync("job-7")).Should().Be(run);
        (await _executor.FindAsync("job-8")).Should().BeNull();
        await FluentActions.Invoking(() => _executor.FindAsync(null!)).Should().ThrowAsync<ArgumentNullException>();
    }

    [Fact]
    public async Task Availability_can_be_switched_and_blocks_only_new_starts()
    {
        var existing = await _executor.StartAsync(TestJobs.Config("existing"));

        var available = await _executor.CheckAvailabilityAsync();
        _clock.Advance(TimeSpan.FromMinutes(1));
        _executor.SetAvailable(false, "cluster unreachable: connection refused");
        var unavailable = await _executor.CheckAvailabilityAsync();
        var start = () => _executor.StartAsync(TestJobs.Config("new"));

        available.Should().Be(ExecutorAvailability.Available(TestJobs.Epoch));
        unavailable.Should().Be(ExecutorAvailability.Unavailable("cluster unreachable: connection refused", TestJobs.Epoch.AddMinutes(1)));
        var error = (await start.Should().ThrowAsync<TrainingException>()).Which;
        error.Code.Should().Be(TrainingErrorCode.ExecutorUnavailable);
        error.Message.Should().Contain("cluster unreachable");
        error.JobId.Should().Be("new");
        _executor.Complete(existing, 0).Phase.Should().Be(TrainingPhase.Succeeded);
        _executor.StartedJobs.Should().ContainSingle();

        _executor.SetAvailable(true);
        (await _executor.CheckAvailabilityAsync()).IsAvailable.Should().BeTrue();
        (await _executor.StartAsync(TestJobs.Config("new"))).JobId.Should().Be("new");
    }

    [Fact]
    public void Going_unavailable_needs_a_reason()
    {
        FluentActions.Invoking(() => _executor.SetAvailable(false)).Should().Throw<ArgumentException>();
    }

    [Fact]
    public async Task An_executor_can_start_out_unavailable()
    {
        var executor = new InMemoryTrainingExecutor(options: new InMemoryExecutorOptions { Available = false, UnavailableReason = "no GPU nodes" }, timeProvider: _clock);

        (await executor.CheckAvailabilityAsync()).Should().Be(ExecutorAvailability.Unavailable("no GPU nodes", TestJobs.Epoch));
    }
}
