using VisionPlatform.Training.Testing;
using Microsoft.Extensions.DependencyInjection;
using static VisionPlatform.Training.Samples.RemoteExecutor.Tests.RemoteTestHost;

namespace VisionPlatform.Training.Samples.RemoteExecutor.Tests;

// The service applies a create and drops the connection instead of answering: the executor cannot know whether the run
// exists, says so with OutcomeUnknown, and routing never moves such a job to another executor.
public sealed class RemoteExecutorOutcomeUnknownTests : IAsyncLifetime
{
    private RemoteTrainingService _service = null!;
    private RemoteTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _service = await RemoteTrainingService.StartAsync();
        _host = await RemoteTestHost.StartAsync(_service.Url, defaultExecutor: RemoteName, fallback: SubprocessName);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _service.DisposeAsync();
    }

    private ITrainingExecutor Executor(string name) => _host.Services.GetRequiredKeyedService<ITrainingExecutor>(name);

    [Fact]
    public async Task The_executor_reports_a_create_whose_answer_was_lost_as_OutcomeUnknown()
    {
        _service.SwallowCreates = 1;

        var failure = await FluentActions.Awaiting(() => Executor(RemoteName).StartAsync(Job("ou-direct"))).Should().ThrowAsync<TrainingException>();

        failure.Which.Code.Should().Be(TrainingErrorCode.OutcomeUnknown);
        failure.Which.ExecutorName.Should().Be(RemoteName);
        failure.Which.JobId.Should().Be("ou-direct");
        _service.RunsCreated.Should().ContainSingle("the service applied the create it did not answer");

        // The repeat is idempotent: the same run, not a second one.
        var run = await Executor(RemoteName).StartAsync(Job("ou-direct"));
        run.ResourceId.Should().Be(_service.RunsCreated[0].RunId);
        _service.RunsCreated.Should().ContainSingle();
    }

    [Fact]
    public async Task A_start_whose_create_answer_was_lost_is_settled_on_the_service_and_never_falls_back()
    {
        _service.SwallowCreates = 1;
        await using var recorder = new TrainingEventCollector(_host.Events, new TrainingEventSubscription { JobId = "ou-1", IncludeCurrentState = false });
        const string jobId = "ou-1";

        var operation = await _host.Client.StartAsync(Job("ou-1"));

        operation.ExecutorName.Should().Be(RemoteName);
        operation.IsFallback.Should().BeFalse();
        operation.FallbackReason.Should().BeNull();
        _service.CreateRequests.Should().Be(2, "routing repeated the start on the same executor");
        _service.RunsCreated.Should().ContainSingle().Which.RunId.Should().Be(operation.Run.ResourceId);
        (await Executor(SubprocessName).FindAsync("ou-1")).Should().BeNull("the job never ran on subprocess");
        var events = await WaitForTerminalEventsAsync(recorder, jobId);
        events.OfType<TrainingFallbackEvent>().Should().BeEmpty();
        ((TrainingPhaseChangedEvent)events[^1]).Status.Phase.Should().Be(TrainingPhase.Succeeded);
    }

    [Fact]
    public async Task When_no_create_is_answered_the_start_fails_without_falling_back_and_the_job_stays_with_the_service()
    {
        _service.SwallowCreates = int.MaxValue;

        var failure = await FluentActions.Awaiting(() => _host.Client.StartAsync(Job("ou-2"))).Should().ThrowAsync<TrainingException>();

        failure.Which.Code.Should().Be(TrainingErrorCode.ExecutorUnavailable);
        failure.Which.Message.Should().Contain("never answered").And.Contain("not moved to another executor");
        (await Executor(SubprocessName).FindAsync("ou-2")).Should().BeNull("a job whose create may have been applied never runs elsewhere");
        _service.RunsCreated.Should().ContainSingle("the repeats found the run the first create made");

        // Once the service answers again, the same job id lands on it: the run its unanswered create made, not a new one.
        _service.SwallowCreates = 0;
        var operation = await _host.Client.StartAsync(Job("ou-2"));
        operation.ExecutorName.Should().Be(RemoteName);
        operation.IsFallback.Should().BeFalse();
        operation.Run.ResourceId.Should().Be(_service.RunsCreated[0].RunId);
        _service.RunsCreated.Should().ContainSingle();
        (await operation.WaitForCompletionAsync(TimeSpan.FromSeconds(60))).Phase.Should().Be(TrainingPhase.Succeeded);
    }
}
