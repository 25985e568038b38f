namespace VisionPlatform.Training.Testing.Tests.Executor;

public class TransitionTests
{
    private readonly Microsoft.Extensions.Time.Testing.FakeTimeProvider _clock = TestJobs.Clock();
    private readonly InMemoryTrainingExecutor _executor;

    public TransitionTests() => _executor = new InMemoryTrainingExecutor(timeProvider: _clock);

    [Fact]
    public async Task SetRunning_marks_the_start_time_and_is_idempotent()
    {
        var run = await _executor.StartAsync(TestJobs.Config());
        _clock.Advance(TimeSpan.FromSeconds(5));

        var running = _executor.SetRunning(run);
        _clock.Advance(TimeSpan.FromSeconds(5));
        var again = _executor.SetRunning(run);

        running.Phase.Should().Be(TrainingPhase.Running);
        running.Reason.Should().Be(TrainingStatusReasons.Running);
        running.StartedAt.Should().Be(TestJobs.Epoch.AddSeconds(5));
        running.CreatedAt.Should().Be(TestJobs.Epoch);
        again.Should().Be(running);
        (await _executor.GetStatusAsync(run)).Should().Be(running);
    }

    [Fact]
    public async Task SetPending_changes_the_waiting_reason_until_the_run_starts()
    {
        var run = await _executor.StartAsync(TestJobs.Config());

        var waiting = _executor.SetPending(run, TrainingStatusReasons.WaitingForGpu, "0 of 1 GPUs free");

        waiting.Phase.Should().Be(TrainingPhase.Pending);
        waiting.Reason.Should().Be(TrainingStatusReasons.WaitingForGpu);
        waiting.Message.Should().Be("0 of 1 GPUs free");

        var running = _executor.SetRunning(run);
        running.Message.Should().BeNull();
        FluentActions.Invoking(() => _executor.SetPending(run, TrainingStatusReasons.WaitingForSlot))
            .Should().Throw<InvalidOperationException>().WithMessage("*job-1*Running*cannot become Pending*");
    }

    [Fact]
    public async Task Complete_with_exit_code_0_succeeds()
    {
        var run = await _executor.StartAsync(TestJobs.Config());
        _executor.SetRunning(run);
        _clock.Advance(TimeSpan.FromMinutes(3));

        var status = _executor.Complete(run, 0);

        status.Phase.Should().Be(TrainingPhase.Succeeded);
        status.Reason.Should().Be(TrainingStatusReasons.Completed);
        status.ExitCode.Should().Be(0);
        status.IsTerminal.Should().BeTrue();
        status.StartedAt.Should().Be(TestJobs.Epoch);
        status.FinishedAt.Should().Be(TestJobs.Epoch.AddMinutes(3));
    }

    [Theory]
    [InlineData(1, TrainingStatusReasons.NonZeroExitCode)]
    [InlineData(2, TrainingStatusReasons.InvalidTrainerInput)]
    [InlineData(137, TrainingStatusReasons.NonZeroExitCode)]
    public async Task Complete_with_a_non_zero_exit_code_fails_with_the_contract_reason(int exitCode, string reason)
    {
        var run = await _executor.StartAsync(TestJobs.Config());

        var status = _executor.Complete(run, exitCode);

        status.Phase.Should().Be(TrainingPhase.Failed);
        status.Reason.Should().Be(reason);
        status.ExitCode.Should().Be(exitCode);
        status.Message.Should().Contain(exitCode.ToString(System.Globalization.CultureInfo.InvariantCulture));
        status.StartedAt.Should().NotBeNull("a trainer that exited had started");
    }

    [Fact]
    public async Task Fail_uses_the_given_reason_message_and_exit_code()
    {
        var run = await _executor.StartAsync(TestJobs.Config());

        var status = _executor.Fail(run, TrainingStatusReasons.OomKilled, "container exceeded 16Gi", 137);

        status.Phase.Should().Be(TrainingPhase.Failed);
        status.Reason.Should().Be(TrainingStatusReasons.OomKilled);
        status.Message.Should().Be("container exceeded 16Gi");
        status.ExitCode.Should().Be(137);
        status.StartedAt.Should().BeNull("this run never got to run");
        status.FinishedAt.Should().Be(TestJobs.Epoch);
    }

    [Fact]
    public async Task MarkLost_reports_an_unobserved_exit()
    {
        var run = await _executor.StartAsync(TestJobs.Config());
        _executor.SetRunning(run);

        var status = _executor.MarkLost(run);

        status.Phase.Should().Be(TrainingPhase.Lost);
        status.Reason.Should().Be(TrainingStatusReasons.ExitNotObserved);
        status.Message.Should().NotBeNullOrEmpty();
        status.ExitCode.Should().BeNull();
    }

    [Fact]
    public async Task A_finished_run_cannot_change_again()
    {
        var run = await _executor.StartAsync(TestJobs.Config());
        _executor.Complete(run, 0);

        FluentActions.Invoking(() => _executor.Complete(run, 1)).Should().Throw<InvalidOperationException>()
            .WithMessage("*job-1*Succeeded*cannot become Failed*");
        FluentActions.Invoking(() => _executor.Fail(run, "X")).Should().Throw<InvalidOperationException>();
        FluentActions.Invoking(() => _executor.SetRunning(run)).Should().Throw<InvalidOperationException>();
        FluentActions.Invoking(() => _executor.MarkLost(run)).Should().Throw<InvalidOperationException>();
        (await _executor.GetStatusAsync(run)).Phase.Should().Be(TrainingPhase.Succeeded);
    }

    [Fact]
    public void Driving_an_unknown_run_is_RunNotFound()
    {
        var unknown = new TrainingRun("in-memory", "nope", "run-000001");

        foreach (var act in new Action[]
                 {
                     () => _executor.SetRunning(unknown),
                     () => _executor.SetPending(unknown, "X"),
                     () => _executor.Complete(unknown),
                     () => _executor.Fail(unknown, "X"),
                     () => _executor.MarkLost(unknown),
                     () => _executor.AppendLog(unknown, "line"),
                 })
        {
            act.Should().Throw<TrainingException>().Which.Code.Should().Be(TrainingErrorCode.RunNotFound);
        }
    }

    [Fact]
    public async Task Fail_requires_a_reason()
    {
        var run = await _executor.StartAsync(TestJobs.Config());

        FluentActions.Invoking(() => _executor.Fail(run, " ")).Should().Throw<ArgumentException>();
        (await _executor.GetStatusAsync(run)).Phase.Should().Be(TrainingPhase.Pending);
    }
}
