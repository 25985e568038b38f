using Microsoft.Extensions.DependencyInjection;
using VisionPlatform.Training.Tests.Routing;

namespace VisionPlatform.Training.Tests.Client;

public class TrainingClientTests
{
    private static RoutingHost Host(Action<TrainingOptions>? configure = null) =>
        new(new ScriptedExecutor("kubernetes"), new ScriptedExecutor("subprocess"), configure);

    [Fact]
    public async Task Start_returns_an_operation_with_a_persistable_id_and_the_executor_used()
    {
        using var host = Host();

        var operation = await host.Client.StartAsync(RoutingHost.Job("job-op"));

        operation.Id.Should().Be(operation.Run.ToString());
        operation.JobId.Should().Be("job-op");
        operation.ExecutorName.Should().Be("kubernetes");
        operation.RequestedExecutor.Should().Be("kubernetes");
        operation.IsFallback.Should().BeFalse();
        operation.Status.Should().BeNull("nothing was read yet");
        operation.HasCompleted.Should().BeFalse();

        var status = await operation.UpdateStatusAsync();
        status.Phase.Should().Be(TrainingPhase.Running);
        operation.Status.Should().Be(status);
        operation.HasCompleted.Should().BeFalse();

        var stopped = await operation.StopAsync();
        stopped.Phase.Should().Be(TrainingPhase.Stopped);
        operation.HasCompleted.Should().BeTrue();
    }

    [Fact]
    public async Task An_operation_rebuilt_from_its_id_reaches_the_same_run_on_the_executor_named_in_it()
    {
        using var host = Host();
        var started = await host.Client.StartAsync(RoutingHost.Job("job-persisted"), new TrainingStartOptions { Executor = "subprocess" });
        var persisted = started.Id;

        var rebuilt = host.Client.GetOperation(persisted);

        rebuilt.Run.Should().Be(started.Run);
        rebuilt.ExecutorName.Should().Be("subprocess");
        rebuilt.RequestedExecutor.Should().Be("subprocess", "where the start was requested is not part of the id");
        rebuilt.FallbackReason.Should().BeNull();
        (await rebuilt.UpdateStatusAsync()).Phase.Should().Be(TrainingPhase.Running);
        host.Secondary.StatusRequests.Should().Contain("job-persisted");
        host.Primary.StatusRequests.Should().BeEmpty();
        host.Client.GetOperation(started.Run).Id.Should().Be(persisted);
        host.Client.TryGetOperation(persisted, out var tried).Should().BeTrue();
        tried!.Run.Should().Be(started.Run);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not-a-handle")]
    [InlineData("run1/kubernetes/only-three")]
    public void A_malformed_id_is_a_FormatException_naming_the_parameter(string id)
    {
        using var host = Host();

        var act = () => host.Client.GetOperation(id);

        act.Should().Throw<FormatException>().WithMessage("*'id'*not a training run handle*");
        host.Client.TryGetOperation(id, out var operation).Should().BeFalse();
        operation.Should().BeNull();
    }

    [Fact]
    public void An_id_of_an_executor_this_host_does_not_have_is_an_ArgumentException_naming_the_parameter()
    {
        using var host = Host();
        var foreign = new TrainingRun("slurm", "job-1", "slurm/42").ToString();

        var act = () => host.Client.GetOperation(foreign);

        act.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("id");
        act.Should().Throw<ArgumentException>().WithMessage("*'slurm'*not registered*kubernetes, subprocess*");
        host.Client.TryGetOperation(foreign, out _).Should().BeFalse();
        host.Client.TryGetOperation(null, out _).Should().BeFalse();
        FluentActions.Invoking(() => host.Client.GetOperation((string)null!)).Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public async Task WaitForCompletion_is_driven_by_events_and_times_out_on_the_injected_clock()
    {
        using var host = Host();
        var operation = await host.Client.StartAsync(RoutingHost.Job("job-wait"));
        var hub = host.Services.GetRequiredService<TrainingEventHub>();

        var finishing = operation.WaitForCompletionAsync(TimeSpan.FromMinutes(10));
        hub.PublishStatus(new TrainingRunStatus { Run = operation.Run, Phase = TrainingPhase.Succeeded, Reason = TrainingStatusReasons.Completed, ExitCode = 0 });

        (await finishing.WaitAsync(TimeSpan.FromSeconds(30))).Phase.Should().Be(TrainingPhase.Succeeded);
        operation.HasCompleted.Should().BeTrue();
        (await operation.WaitForCompletionAsync()).Phase.Should().Be(TrainingPhase.Succeeded, "a completed operation answers at once");

        var endless = await host.Client.StartAsync(RoutingHost.Job("job-endless"));
        var waiting = endless.WaitForCompletionAsync(TimeSpan.FromMinutes(10));
        await WaitUntilAsync(() => host.Time.TimersCreated(TimeSpan.FromMinutes(10)) > 0);
        host.Time.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));

        var timeout = async () => await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        (await timeout.Should().ThrowAsync<TimeoutException>()).Which.Message.Should().Contain("job-endless");
        endless.HasCompleted.Should().BeFalse();
    }

    [Fact]
    public async Task Find_returns_an_operation_and_null_for_an_unknown_job()
    {
        using var host = Host();
        var started = await host.Client.StartAsync(RoutingHost.Job("job-find"));

        (await host.Client.FindAsync("job-find"))!.Run.Should().Be(started.Run);
        (await host.Client.FindAsync("nowhere")).Should().BeNull();
        host.Client.ExecutorNames.Should().Equal("kubernetes", "subprocess");
        host.Client.DefaultExecutorName.Should().Be("kubernetes");
    }

    [Fact]
    public async Task The_client_and_the_operation_can_be_mocked()
    {
        var operation = new FakeOperation();
        TrainingClient client = new FakeClient(operation);

        var started = await client.StartAsync(RoutingHost.Job());

        started.Should().BeSameAs(operation);
        (await started.WaitForCompletionAsync()).Phase.Should().Be(TrainingPhase.Succeeded);
        FluentActions.Invoking(() => new FakeClient(operation).ExecutorNames).Should().Throw<InvalidOperationException>().WithMessage("*mocking*");
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            DateTime.UtcNow.Should().BeBefore(deadline);
            await Task.Delay(10);
        }
    }

    private sealed class FakeClient(TrainingOperation operation) : TrainingClient
    {
        public override Task<TrainingOperation> StartAsync(TrainingJobConfig config, TrainingStartOptions? options = null, CancellationToken cancellationToken = default) =>
            Task.FromResult(operation);
    }

    private sealed class FakeOperation : TrainingOperation
    {
        public override Task<TrainingRunStatus> WaitForCompletionAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
            Task.FromResult(new TrainingRunStatus { Run = new TrainingRun("fake", "job-1", "fake/1"), Phase = TrainingPhase.Succeeded, Reason = TrainingStatusReasons.Completed });
    }

    [Fact]
    public async Task WatchAsync_yields_a_status_only_when_phase_reason_message_exit_code_or_attempt_changes()
    {
        using var host = Host();
        var operation = await host.Client.StartAsync(RoutingHost.Job("job-watch-dedup"));
        var running = new TrainingRunStatus { Run = operation.Run, Phase = TrainingPhase.Running, Reason = TrainingStatusReasons.Running };
        host.Primary.WatchScript = _ =>
        [
            running,
            running with { Progress = new TrainingProgress { Epoch = 1, TotalEpochs = 2 } },
            running with { Progress = new TrainingProgress { Epoch = 2, TotalEpochs = 2 }, StartedAt = DateTimeOffset.UnixEpoch },
            running with { Message = "epoch 2 is slow" },
            running with { Message = "epoch 2 is slow", Attempt = 2 },
            running with { Phase = TrainingPhase.Succeeded, Reason = TrainingStatusReasons.Completed, ExitCode = 0 },
        ];

        var seen = new List<TrainingRunStatus>();
        await foreach (var status in operation.WatchAsync())
        {
            seen.Add(status);
        }

        seen.Select(s => (s.Phase, s.Message, s.Attempt)).Should().Equal(
            (TrainingPhase.Running, null, 1),
            (TrainingPhase.Running, "epoch 2 is slow", 1),
            (TrainingPhase.Running, "epoch 2 is slow", 2),
            (TrainingPhase.Succeeded, null, 1));
        operation.Status.Should().Be(seen[^1]);
        running.IsChangeFrom(null).Should().BeTrue();
        (running with { Progress = new TrainingProgress { Epoch = 5 } }).IsChangeFrom(running).Should().BeFalse();
        (running with { ExitCode = 1 }).IsChangeFrom(running).Should().BeTrue();
    }
}
