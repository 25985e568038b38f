using VisionPlatform.Training.Testing;
using Microsoft.Extensions.DependencyInjection;
using static VisionPlatform.Training.Samples.RemoteExecutor.Tests.RemoteTestHost;

namespace VisionPlatform.Training.Samples.RemoteExecutor.Tests;

// Routing decides fallback from the TrainingException code the outside-src executor sets, as for the built-in ones.
public sealed class RemoteExecutorFallbackTests
{
    [Fact]
    public async Task A_start_falls_back_from_the_remote_executor_to_subprocess_when_its_service_is_down()
    {
        await using var host = await RemoteTestHost.StartAsync(DeadUrl(), defaultExecutor: RemoteName, fallback: SubprocessName);
        await using var recorder = new TrainingEventCollector(host.Events, new TrainingEventSubscription { JobId = "fb-1", IncludeCurrentState = false });
        const string jobId = "fb-1";

        var operation = await host.Client.StartAsync(Job("fb-1"));

        operation.RequestedExecutor.Should().Be(RemoteName);
        operation.ExecutorName.Should().Be(SubprocessName);
        operation.IsFallback.Should().BeTrue();
        operation.FallbackReason.Should().StartWith("'remote' is unavailable").And.Contain("cannot be reached");
        var events = await WaitForTerminalEventsAsync(recorder, jobId);
        events.OfType<TrainingFallbackEvent>().Should().ContainSingle().Which.Should().Match<TrainingFallbackEvent>(f =>
            f.RequestedExecutor == RemoteName && f.ExecutorUsed == SubprocessName && f.Reason == operation.FallbackReason);
        var done = await operation.WaitForCompletionAsync(TimeSpan.FromSeconds(60));
        done.Phase.Should().Be(TrainingPhase.Succeeded, done.Message);
        done.Cost!.Amount.Should().Be(Math.Round((decimal)done.Cost.CpuHours * SubprocessCpuHour, 4, MidpointRounding.AwayFromZero), "the subprocess row prices a run that fell back there");
        (await host.Client.GetAvailabilityAsync(RemoteName)).IsAvailable.Should().BeFalse();
    }

    [Fact]
    public async Task A_start_falls_back_when_the_service_went_down_after_its_last_probe_because_the_executor_says_ExecutorUnavailable()
    {
        var service = await RemoteTrainingService.StartAsync();
        await using var host = await RemoteTestHost.StartAsync(service.Url, defaultExecutor: RemoteName, fallback: SubprocessName);
        try
        {
            var before = await host.Client.StartAsync(Job("up-1", epochs: 1, epochSeconds: 0.1));
            before.ExecutorName.Should().Be(RemoteName);
            (await before.WaitForCompletionAsync(TimeSpan.FromSeconds(60))).Phase.Should().Be(TrainingPhase.Succeeded);
        }
        finally
        {
            await service.DisposeAsync(); // the service goes down; routing's cached probe still says "available"
        }

        // The executor itself reports the refused connection as ExecutorUnavailable ...
        var remote = host.Services.GetRequiredKeyedService<ITrainingExecutor>(RemoteName);
        var direct = await FluentActions.Awaiting(() => remote.StartAsync(Job("direct-1"))).Should().ThrowAsync<TrainingException>();
        direct.Which.Code.Should().Be(TrainingErrorCode.ExecutorUnavailable);
        direct.Which.ExecutorName.Should().Be(RemoteName);

        // ... so routing falls back at once and remembers that the service is down.
        var operation = await host.Client.StartAsync(Job("down-1"));

        operation.IsFallback.Should().BeTrue();
        operation.ExecutorName.Should().Be(SubprocessName);
        operation.FallbackReason.Should().Contain("cannot be reached");
        (await operation.WaitForCompletionAsync(TimeSpan.FromSeconds(60))).Phase.Should().Be(TrainingPhase.Succeeded);
        (await host.Client.GetAvailabilityAsync(RemoteName)).IsAvailable.Should().BeFalse();
    }

    [Fact]
    public async Task A_start_falls_back_from_subprocess_to_the_remote_executor_when_subprocess_is_unavailable_by_configuration()
    {
        await using var service = await RemoteTrainingService.StartAsync();
        await using var host = await RemoteTestHost.StartAsync(
            service.Url,
            defaultExecutor: SubprocessName,
            fallback: RemoteName,
            // Lenient start-up (ValidateTrainerOnStart = false): the host starts and the executor reports itself unavailable.
            settings: [("Training:Subprocess:Interpreter", "/nonexistent/python3"), ("Training:Subprocess:ValidateTrainerOnStart", "false")]);
        await using var recorder = new TrainingEventCollector(host.Events, new TrainingEventSubscription { JobId = "to-remote-1", IncludeCurrentState = false });
        const string jobId = "to-remote-1";

        var operation = await host.Client.StartAsync(Job("to-remote-1"));

        operation.RequestedExecutor.Should().Be(SubprocessName);
        operation.ExecutorName.Should().Be(RemoteName);
        operation.IsFallback.Should().BeTrue();
        operation.FallbackReason.Should().StartWith("'subprocess' is unavailable").And.Contain("Training:Subprocess:Interpreter");
        var events = await WaitForTerminalEventsAsync(recorder, jobId);
        var all = string.Join(Environment.NewLine, events);
        events.OfType<TrainingFallbackEvent>().Should().ContainSingle(all).Which.ExecutorUsed.Should().Be(RemoteName);
        events.OfType<TrainingProgressEvent>().Select(p => p.Progress.Epoch).Should().Equal([1, 2], all);
        var final = ((TrainingPhaseChangedEvent)events[^1]).Status;
        final.Phase.Should().Be(TrainingPhase.Succeeded, all);
        final.Cost!.Amount.Should().Be(Math.Round((decimal)final.Cost.CpuHours * RemoteCpuHour, 4, MidpointRounding.AwayFromZero));
        service.RunsCreated.Should().ContainSingle().Which.JobId.Should().Be("to-remote-1");

        // A persisted id rebuilds the operation on the executor that ran it.
        var rebuilt = host.Client.GetOperation(operation.Id);
        (await rebuilt.UpdateStatusAsync()).Phase.Should().Be(TrainingPhase.Succeeded);
        rebuilt.ExecutorName.Should().Be(RemoteName);
    }

    [Fact]
    public async Task A_GPU_job_does_not_fall_back_to_a_host_without_GPUs_when_the_service_is_down()
    {
        await using var host = await RemoteTestHost.StartAsync(DeadUrl(), defaultExecutor: RemoteName, fallback: SubprocessName);

        var failure = await FluentActions.Awaiting(() => host.Client.StartAsync(Job("gpu-down", gpus: 1))).Should().ThrowAsync<TrainingException>();

        failure.Which.Code.Should().Be(TrainingErrorCode.Unschedulable);
        failure.Which.Message.Should().Contain("'remote' is unavailable").And.Contain("does not fit fallback 'subprocess'").And.Contain("Training:Subprocess:Gpus");
    }
}
