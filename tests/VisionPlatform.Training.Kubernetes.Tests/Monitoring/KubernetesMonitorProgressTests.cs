namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>Progress and log events of Kubernetes runs, parsed from the trainer pod's log while someone wants them.</summary>
public class KubernetesMonitorProgressTests
{
    [Fact]
    public async Task A_subscriber_gets_progress_parsed_from_the_trainer_pods_VP_PROGRESS_lines_and_its_log_lines()
    {
        await using var host = await MonitorHost.StartAsync();
        await host.WaitForSyncAsync();
        var run = await host.Executor.StartAsync(WorkloadHarness.Trainer("mon-progress", """{"epoch_seconds": 0.7}""", epochs: 4).Build());
        await using var recorder = new EventRecorder(host.Events, new TrainingEventSubscription { JobId = run.JobId, IncludeLogs = true, BufferCapacity = 4096 });

        await recorder.WaitForAsync(e => e.OfType<TrainingPhaseChangedEvent>().Any(p => p.Status.IsTerminal), "the run to finish");
        var progress = await recorder.WaitForAsync(
            e => e.OfType<TrainingProgressEvent>().Any(p => p.Progress.Epoch == 4),
            "the last epoch's progress (the log is drained after the container stops)",
            TimeSpan.FromSeconds(30));

        var epochs = progress.OfType<TrainingProgressEvent>().Select(p => p.Progress).ToList();
        epochs.Should().OnlyContain(p => p.TotalEpochs == 4 && p.Metrics.Count > 0);
        epochs.Select(p => p.Epoch).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems().And.Contain(4);
        epochs[^1].Percent.Should().Be(100);
        progress.OfType<TrainingLogEvent>().Should().Contain(l => l.Line.Text.StartsWith(TrainingProgressProtocol.Prefix, StringComparison.Ordinal))
            .And.Contain(l => !l.Line.Text.StartsWith(TrainingProgressProtocol.Prefix, StringComparison.Ordinal), "every line is forwarded, not only progress");
        progress.OfType<TrainingRunEvent>().Select(e => e.Sequence).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        (await host.Executor.GetStatusAsync(run)).Progress!.Epoch.Should().Be(4, "the status carries the latest progress");
        host.Api.Requests.CountWhere(e => e.Request.Subresource == "log" && e.Query.Contains("follow=true")).Should().BeGreaterThan(0);
    }

    [Fact]
    public async Task No_log_is_read_while_nobody_wants_progress_or_logs()
    {
        await using var host = await MonitorHost.StartAsync();
        await host.WaitForSyncAsync();
        await using var recorder = new EventRecorder(host.Events, new TrainingEventSubscription { IncludeCurrentState = false, IncludeProgress = false });
        var run = await host.Executor.StartAsync(WorkloadHarness.Trainer("mon-quiet").Build());

        await recorder.WaitForAsync(_ => recorder.Phases(run.JobId).Any(p => p.Status.IsTerminal), "the run to finish");
        recorder.Events.OfType<TrainingProgressEvent>().Should().BeEmpty();
        host.Api.Requests.CountWhere(e => e.Request.Subresource == "log").Should().Be(0);
    }
}
