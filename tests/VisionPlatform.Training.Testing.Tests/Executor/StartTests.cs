namespace VisionPlatform.Training.Testing.Tests.Executor;

public class StartTests
{
    private readonly Microsoft.Extensions.Time.Testing.FakeTimeProvider _clock = TestJobs.Clock();

    [Fact]
    public async Task Start_returns_a_pending_run_of_this_executor_and_records_the_config()
    {
        var executor = new InMemoryTrainingExecutor(timeProvider: _clock);
        var config = TestJobs.Config();

        var run = await executor.StartAsync(config);

        run.ExecutorName.Should().Be("in-memory");
        run.JobId.Should().Be("job-1");
        run.ResourceId.Should().NotBeNullOrEmpty();
        executor.StartedJobs.Should().ContainSingle().Which.Should().BeSameAs(config);
        var status = await executor.GetStatusAsync(run);
        status.Phase.Should().Be(TrainingPhase.Pending);
        status.Reason.Should().Be(TrainingStatusReasons.Starting);
        status.CreatedAt.Should().Be(TestJobs.Epoch);
        status.StartedAt.Should().BeNull();
        status.Attempt.Should().Be(1);
    }

    [Fact]
    public async Task Starting_the_same_job_again_returns_the_same_run_and_starts_nothing()
    {
        var executor = new InMemoryTrainingExecutor(timeProvider: _clock);
        var first = await executor.StartAsync(TestJobs.Config());
        executor.Complete(first, 0);

        // An equal config built separately (for example by a retried HTTP request) is the same job.
        var second = await executor.StartAsync(TestJobs.Config());

        second.Should().Be(first);
        executor.StartedJobs.Should().ContainSingle();
        (await executor.GetStatusAsync(second)).Phase.Should().Be(TrainingPhase.Succeeded);
    }

    [Fact]
    public async Task Starting_a_job_id_with_a_different_config_is_a_conflict()
    {
        var executor = new InMemoryTrainingExecutor(timeProvider: _clock);
        await executor.StartAsync(TestJobs.Config(epochs: 2));

        var act = () => executor.StartAsync(TestJobs.Config(epochs: 3));

        var error = (await act.Should().ThrowAsync<TrainingException>()).Which;
        error.Code.Should().Be(TrainingErrorCode.JobConflict);
        error.JobId.Should().Be("job-1");
        error.ExecutorName.Should().Be("in-memory");
        error.Message.Should().Contain("job-1").And.Contain("different configuration");
        executor.StartedJobs.Should().ContainSingle().Which.Epochs.Should().Be(2);
    }

    [Fact]
    public async Task Different_job_ids_get_different_runs()
    {
        var executor = new InMemoryTrainingExecutor(timeProvider: _clock);

        var a = await executor.StartAsync(TestJobs.Config("a"));
        var b = await executor.StartAsync(TestJobs.Config("b"));

        a.Should().NotBe(b);
        a.ResourceId.Should().NotBe(b.ResourceId);
        executor.StartedJobs.Select(c => c.JobId).Should().Equal("a", "b");
    }

    [Fact]
    public async Task Start_checks_its_arguments_and_the_token()
    {
        var executor = new InMemoryTrainingExecutor(timeProvider: _clock);

        await FluentActions.Invoking(() => executor.StartAsync(null!)).Should().ThrowAsync<ArgumentNullException>();
        await FluentActions.Invoking(() => executor.StartAsync(TestJobs.Config(), new CancellationToken(canceled: true)))
            .Should().ThrowAsync<OperationCanceledException>();
        executor.StartedJobs.Should().BeEmpty();
    }

    [Fact]
    public async Task A_custom_name_is_recorded_in_handles()
    {
        var executor = new InMemoryTrainingExecutor("kubernetes", timeProvider: _clock);

        var run = await executor.StartAsync(TestJobs.Config());

        executor.Name.Should().Be("kubernetes");
        run.ExecutorName.Should().Be("kubernetes");
    }

    [Fact]
    public void Invalid_options_and_names_are_rejected_with_the_option_named()
    {
        FluentActions.Invoking(() => new InMemoryTrainingExecutor(" "))
            .Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => new InMemoryTrainingExecutor(options: new InMemoryExecutorOptions { AutoCompleteDelay = TimeSpan.FromSeconds(-1) }))
            .Should().Throw<ArgumentException>().WithMessage("*InMemoryExecutorOptions.AutoCompleteDelay is -00:00:01*between 00:00:00 and 1.00:00:00*");
        FluentActions.Invoking(() => new InMemoryTrainingExecutor(options: new InMemoryExecutorOptions { Available = false }))
            .Should().Throw<ArgumentException>().WithMessage("*InMemoryExecutorOptions.UnavailableReason is required*");
        FluentActions.Invoking(() => new InMemoryTrainingExecutor(options: new InMemoryExecutorOptions { AutoCompleteLog = null! }))
            .Should().Throw<ArgumentException>().WithMessage("*InMemoryExecutorOptions.AutoCompleteLog*");
    }

    [Fact]
    public async Task The_executor_keeps_a_copy_of_its_options()
    {
        var options = new InMemoryExecutorOptions();
        var executor = new InMemoryTrainingExecutor(options: options, timeProvider: _clock);
        options.AutoComplete = true;

        var run = await executor.StartAsync(TestJobs.Config());

        (await executor.GetStatusAsync(run)).Phase.Should().Be(TrainingPhase.Pending);
    }

    [Fact]
    public async Task A_disposed_executor_refuses_new_runs()
    {
        var executor = new InMemoryTrainingExecutor(timeProvider: _clock);
        executor.Dispose();

        await FluentActions.Invoking(() => executor.StartAsync(TestJobs.Config())).Should().ThrowAsync<ObjectDisposedException>();
    }
}
