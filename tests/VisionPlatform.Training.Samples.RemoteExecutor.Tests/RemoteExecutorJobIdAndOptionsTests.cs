using Microsoft.Extensions.Options;
using static VisionPlatform.Training.Samples.RemoteExecutor.Tests.RemoteTestHost;

namespace VisionPlatform.Training.Samples.RemoteExecutor.Tests;

// The shared job-id rule (DESIGN-1.0.md) on the outside-src executor, and its start-up validation.
public sealed class RemoteExecutorJobIdAndOptionsTests
{
    [Fact]
    public async Task The_same_job_id_returns_its_run_after_a_stop_conflicts_with_another_config_and_is_free_once_the_record_expired()
    {
        await using var service = await RemoteTrainingService.StartAsync();
        await using var host = await RemoteTestHost.StartAsync(service.Url, defaultExecutor: RemoteName, fallback: SubprocessName);
        var operation = await host.Client.StartAsync(Job("same-1", epochs: 100, epochSeconds: 1));
        await WaitForPhaseAsync(operation, TrainingPhase.Running);

        var stopped = await operation.StopAsync(new TrainingStopOptions { GracePeriod = TimeSpan.FromSeconds(5) });
        stopped.Phase.Should().Be(TrainingPhase.Stopped);
        stopped.Reason.Should().Be(TrainingStatusReasons.StoppedByUser);

        // Same id, same config: the stopped run, still stopped (a stop never removes the record).
        var again = await host.Client.StartAsync(Job("same-1", epochs: 100, epochSeconds: 1));
        again.Id.Should().Be(operation.Id);
        (await again.UpdateStatusAsync()).Phase.Should().Be(TrainingPhase.Stopped);
        service.RunsCreated.Should().ContainSingle();

        // Same id, another config: a conflict, never a second run.
        var conflict = await FluentActions.Awaiting(() => host.Client.StartAsync(Job("same-1", epochs: 3))).Should().ThrowAsync<TrainingException>();
        conflict.Which.Code.Should().Be(TrainingErrorCode.JobConflict);

        // The service's retention removed the record: the id is free, the old handle answers NotFound.
        service.Expire("same-1");
        (await operation.UpdateStatusAsync()).Phase.Should().Be(TrainingPhase.NotFound);
        var fresh = await host.Client.StartAsync(Job("same-1", epochs: 1, epochSeconds: 0.1));
        fresh.ExecutorName.Should().Be(RemoteName);
        fresh.Run.ResourceId.Should().NotBe(operation.Run.ResourceId);
        (await fresh.WaitForCompletionAsync(TimeSpan.FromSeconds(60))).Phase.Should().Be(TrainingPhase.Succeeded);
        service.RunsCreated.Should().HaveCount(2);
    }

    [Fact]
    public async Task A_missing_or_invalid_setting_fails_start_up_naming_each_key()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Training:DefaultExecutor"] = RemoteName,
            ["Training:Remote:PollInterval"] = "00:00:00",
            ["Training:Remote:MaxGpusPerJob"] = "-1",
        };

        var failure = await FluentActions.Awaiting(() => RemoteTestHost.StartAsync(settings)).Should().ThrowAsync<OptionsValidationException>();

        failure.Which.Message.Should()
            .Contain("Training:Remote:ServiceUrl is required")
            .And.Contain("Training:Remote:PollInterval must be greater than zero")
            .And.Contain("Training:Remote:MaxGpusPerJob must be 0 or more");
    }

    [Fact]
    public async Task A_job_that_asks_for_more_GPUs_than_the_service_takes_is_refused_before_anything_is_sent()
    {
        await using var service = await RemoteTrainingService.StartAsync();
        await using var host = await RemoteTestHost.StartAsync(service.Url, defaultExecutor: RemoteName, fallback: SubprocessName, settings: [("Training:Remote:MaxGpusPerJob", "1")]);

        var failure = await FluentActions.Awaiting(() => host.Client.StartAsync(Job("big-1", gpus: 2))).Should().ThrowAsync<TrainingValidationException>();

        failure.Which.Errors.Should().ContainSingle().Which.Field.Should().Be("Resources.Gpus");
        failure.Which.Message.Should().Contain("MaxGpusPerJob");
        service.CreateRequests.Should().Be(0);
        (await host.Client.FindAsync("big-1")).Should().BeNull("a request error never falls back");
    }

    private static async Task WaitForPhaseAsync(TrainingOperation operation, TrainingPhase phase)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await foreach (var status in operation.WatchAsync(deadline.Token))
        {
            if (status.Phase == phase)
            {
                return;
            }

            status.IsTerminal.Should().BeFalse($"the run should reach {phase}; {status.Phase} {status.Reason} {status.Message}");
        }
    }
}
