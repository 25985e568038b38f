using VisionPlatform.Training.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using System.Diagnostics.Metrics;
using VisionPlatform.Training.Diagnostics;
using static VisionPlatform.Training.Samples.RemoteExecutor.Tests.RemoteTestHost;

namespace VisionPlatform.Training.Samples.RemoteExecutor.Tests;

// The executor outside src/ publishes through the public ITrainingEventPublisher, prices through the public
// TrainingCostCalculator and counts through the public TrainingMetrics; a host sees it only through TrainingClient.
public sealed class RemoteExecutorEventsAndCostTests : IAsyncLifetime
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

    [Fact]
    public async Task Its_events_reach_a_subscriber_in_order_and_the_terminal_one_carries_the_cost_from_its_price_row()
    {
        using var requests = new MetricCollector<long>(_host.Services.GetRequiredService<IMeterFactory>(), TrainingTelemetry.MeterName, TrainingTelemetry.ExecutorRequestsInstrument);
        await using var recorder = new TrainingEventCollector(_host.Events, new TrainingEventSubscription { JobId = "ev-1", IncludeLogs = true, IncludeCurrentState = false });
        const string jobId = "ev-1";

        var operation = await _host.Client.StartAsync(Job("ev-1", epochs: 2, epochSeconds: 0.3, cpuRequest: "2"));

        operation.ExecutorName.Should().Be(RemoteName);
        operation.IsFallback.Should().BeFalse();
        operation.Run.ExecutorName.Should().Be(RemoteName);
        var events = await WaitForTerminalEventsAsync(recorder, jobId);

        var story = events
            .Where(e => e is not TrainingLogEvent)
            .Select(e => e switch
            {
                TrainingPhaseChangedEvent p => p.Status.Phase.ToString(),
                TrainingProgressEvent p => "epoch " + p.Progress.Epoch,
                _ => e.GetType().Name,
            })
            .ToArray();
        var all = string.Join(Environment.NewLine, events);
        story.Should().Equal(["Pending", "Running", "epoch 1", "epoch 2", "Succeeded"], all);
        events.Select(e => ((TrainingRunEvent)e).Sequence).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        events.OfType<TrainingRunEvent>().Should().OnlyContain(e => e.Run == operation.Run);

        // Log lines (subscribed with IncludeLogs) arrive between Running and the terminal phase, the progress lines among them.
        var logs = events.OfType<TrainingLogEvent>().Select(e => e.Line.Text).ToArray();
        logs.Should().Contain(l => l.StartsWith(TrainingProgressProtocol.Prefix, StringComparison.Ordinal));
        events.IndexOf(events.OfType<TrainingLogEvent>().First()).Should().BeGreaterThan(events.FindIndex(e => e is TrainingPhaseChangedEvent { Status.Phase: TrainingPhase.Running }));

        // The terminal event's status carries the cost, priced from Training:Cost:Executors:remote.
        var final = ((TrainingPhaseChangedEvent)events[^1]).Status;
        final.Phase.Should().Be(TrainingPhase.Succeeded, all);
        final.ExitCode.Should().Be(0);
        final.Progress!.Percent.Should().Be(100);
        var cost = final.Cost!;
        cost.RunningHours.Should().BePositive();
        cost.CpuHours.Should().BeApproximately(2 * cost.RunningHours, 1e-9, "the job requested 2 CPUs");
        cost.GpuHours.Should().Be(0);
        cost.Currency.Should().Be("USD");
        cost.Amount.Should().Be(Math.Round((decimal)cost.CpuHours * RemoteCpuHour, 4, MidpointRounding.AwayFromZero));

        // The operation says the same, and so do status reads, lists and the log.
        var completed = await operation.WaitForCompletionAsync(TimeSpan.FromSeconds(30));
        completed.Phase.Should().Be(TrainingPhase.Succeeded);
        completed.Cost.Should().Be(cost);
        (await operation.UpdateStatusAsync()).Cost.Should().Be(cost);
        (await _host.Client.ListAsync()).Should().ContainSingle(s => s.JobId == "ev-1").Which.Cost.Should().Be(cost);
        var log = new List<string>();
        await foreach (var line in operation.GetLogsAsync())
        {
            log.Add(line.Text);
        }

        log.Should().Contain(l => l.StartsWith("VP_PROGRESS {\"epoch\": 2, \"total_epochs\": 2", StringComparison.Ordinal));
        (await _host.Client.FindAsync("ev-1"))!.Id.Should().Be(operation.Id);

        // Every HTTP request was counted under the executor's name, with its operation and status code.
        var measured = requests.GetMeasurementSnapshot();
        measured.Should().Contain(m => m.Tags[TrainingTelemetry.ExecutorTag] as string == RemoteName && m.Tags[TrainingTelemetry.OperationTag] as string == "create" && (int?)m.Tags[TrainingTelemetry.HttpStatusCodeTag] == 201);
        measured.Should().Contain(m => m.Tags[TrainingTelemetry.OperationTag] as string == "logs");
        measured.Should().Contain(m => m.Tags[TrainingTelemetry.OperationTag] as string == "list");
    }

    [Fact]
    public async Task A_GPU_run_is_priced_by_GPU_hours_and_a_stopped_run_by_the_time_it_ran()
    {
        await using var recorder = new TrainingEventCollector(_host.Events, new TrainingEventSubscription { JobId = "gpu-1", IncludeCurrentState = false });
        const string jobId = "gpu-1";
        var operation = await _host.Client.StartAsync(Job("gpu-1", epochs: 100, epochSeconds: 1, gpus: 2));
        await recorder.WaitForAsync<TrainingPhaseChangedEvent>(e => e.Status.Phase == TrainingPhase.Running || e.Status.IsTerminal, TimeSpan.FromSeconds(90));

        var stopped = await operation.StopAsync(new TrainingStopOptions { GracePeriod = TimeSpan.FromSeconds(5) });

        stopped.Phase.Should().Be(TrainingPhase.Stopped);
        stopped.Reason.Should().Be(TrainingStatusReasons.StoppedByUser);
        var terminal = (TrainingPhaseChangedEvent)(await WaitForTerminalEventsAsync(recorder, jobId))[^1];
        terminal.Status.Phase.Should().Be(TrainingPhase.Stopped);
        var cost = terminal.Status.Cost!;
        cost.GpuHours.Should().BeApproximately(2 * cost.RunningHours, 1e-9);
        cost.Amount.Should().Be(Math.Round(((decimal)cost.GpuHours * RemoteGpuHour) + ((decimal)cost.CpuHours * RemoteCpuHour), 4, MidpointRounding.AwayFromZero));
        stopped.Cost.Should().Be(cost);
    }
}
