using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using VisionPlatform.Training.Diagnostics;
using VisionPlatform.Training.Subprocess;
using VisionPlatform.Training.Tests.Routing;
using VisionPlatform.Training.Tests.Subprocess;
using static VisionPlatform.Training.Tests.Subprocess.SubprocessTestContext;

namespace VisionPlatform.Training.Tests.Diagnostics;

/// <summary>End to end: real trainer processes (samples/trainer/train.py) started through the DI-built manager, measured on the host's meter.</summary>
public sealed class SubprocessTelemetryTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly SubprocessTestContext _ctx = new();
    private ServiceProvider _provider = null!;

    public Task InitializeAsync()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IMeterFactory, TestMeterFactory>();
        services.AddTrainingExecutors(o =>
        {
            o.DefaultExecutor = TrainingExecutorNames.Subprocess;
            o.Availability.BackgroundRefresh = false;
            o.Subprocess.RunsDirectory = _ctx.RunsDirectory;
            o.Subprocess.Interpreter = Python;
            o.Subprocess.Script = TrainPy;
            o.Subprocess.MaxConcurrentRuns = 3;
            o.Subprocess.StopGracePeriod = TimeSpan.FromSeconds(10);
        }).AddSubprocess();
        _provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        _ctx.Track(_provider.GetRequiredService<SubprocessTrainingExecutor>());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _ctx.DisposeAsync();
        await _provider.DisposeAsync();
    }

    private MetricCollector<T> Collect<T>(string instrument)
        where T : struct =>
        new(_provider.GetRequiredService<IMeterFactory>(), TrainingTelemetry.MeterName, instrument);

    [Fact]
    public async Task Real_runs_that_succeed_fail_and_are_stopped_are_each_counted_once_with_their_times()
    {
        using var starts = Collect<long>(TrainingTelemetry.StartsInstrument);
        using var succeeded = Collect<long>(TrainingTelemetry.SucceededInstrument);
        using var failed = Collect<long>(TrainingTelemetry.FailedInstrument);
        using var stopped = Collect<long>(TrainingTelemetry.StoppedInstrument);
        using var duration = Collect<double>(TrainingTelemetry.RunDurationInstrument);
        using var pending = Collect<double>(TrainingTelemetry.PendingDurationInstrument);
        using var active = Collect<long>(TrainingTelemetry.ActiveRunsInstrument);
        var client = _provider.GetRequiredService<TrainingClient>();

        var ok = await client.StartAsync(Job("tel-ok", epochs: 2, new { epoch_seconds = 0.2 }).Build());
        var bad = await client.StartAsync(Job("tel-bad", epochs: 3, new { epoch_seconds = 0.2, fail_at_epoch = 2 }).Build());
        var slow = await client.StartAsync(Job("tel-slow", epochs: 50, new { epoch_seconds = 1 }).Build());

        (await ok.WaitForCompletionAsync(Patience)).Phase.Should().Be(TrainingPhase.Succeeded);
        (await bad.WaitForCompletionAsync(Patience)).Phase.Should().Be(TrainingPhase.Failed);

        // The slow run is live: the gauge sees it running on the subprocess executor.
        await WaitForAsync(slow, s => s.Phase == TrainingPhase.Running, Patience);
        active.RecordObservableInstruments();
        active.GetMeasurementSnapshot().Should().Contain(m =>
            (string)m.Tags[TrainingTelemetry.ExecutorTag]! == TrainingExecutorNames.Subprocess && (string)m.Tags[TrainingTelemetry.PhaseTag]! == "running" && m.Value == 1);

        await slow.StopAsync();
        (await slow.WaitForCompletionAsync(Patience)).Phase.Should().Be(TrainingPhase.Stopped);

        starts.GetMeasurementSnapshot().Should().HaveCount(3).And.OnlyContain(m =>
            (string)m.Tags[TrainingTelemetry.ExecutorTag]! == TrainingExecutorNames.Subprocess && (string)m.Tags[TrainingTelemetry.FrameworkTag]! == "ultralytics");
        succeeded.GetMeasurementSnapshot().Should().ContainSingle().Which.Tags[TrainingTelemetry.ReasonTag].Should().Be(TrainingStatusReasons.Completed);
        failed.GetMeasurementSnapshot().Should().ContainSingle().Which.Tags[TrainingTelemetry.ReasonTag].Should().Be(TrainingStatusReasons.NonZeroExitCode);
        stopped.GetMeasurementSnapshot().Should().ContainSingle().Which.Tags[TrainingTelemetry.ReasonTag].Should().Be(TrainingStatusReasons.StoppedByUser);

        var durations = duration.GetMeasurementSnapshot();
        durations.Select(m => (string)m.Tags[TrainingTelemetry.OutcomeTag]!).Should().BeEquivalentTo(["succeeded", "failed", "stopped"]);
        durations.Should().OnlyContain(m => m.Value > 0 && m.Value < Patience.TotalSeconds, "each run ran for a moment, measured from StartedAt to FinishedAt");
        durations.Single(m => (string)m.Tags[TrainingTelemetry.OutcomeTag]! == "succeeded").Value.Should().BeGreaterThanOrEqualTo(0.4, "two epochs of 0.2 s");
        pending.GetMeasurementSnapshot().Should().HaveCount(3).And.OnlyContain(m => m.Value >= 0 && m.Value < Patience.TotalSeconds);

        // The same outcomes seen again (a status read or a recovery republishing them) change nothing.
        foreach (var run in new[] { ok, bad, slow })
        {
            await run.UpdateStatusAsync();
        }

        (succeeded.GetMeasurementSnapshot().Count + failed.GetMeasurementSnapshot().Count + stopped.GetMeasurementSnapshot().Count).Should().Be(3);
    }
}
