using Microsoft.Extensions.DependencyInjection;
using VisionPlatform.Training.Testing;
using VisionPlatform.Training.Tests.Subprocess;

namespace VisionPlatform.Training.Tests.Routing;

/// <summary>
/// A start that falls back is announced to event subscribers: the requested executor is unavailable, the real subprocess
/// executor runs the job (samples/trainer/train.py), and the fallback event takes its place among the run's phase events.
/// </summary>
public sealed class FallbackEventTests : IAsyncLifetime
{
    private readonly SubprocessTestContext _ctx = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _ctx.DisposeAsync();

    [Fact]
    public async Task A_fallback_is_published_with_the_requested_executor_the_one_used_and_the_reason_in_sequence_with_the_phases()
    {
        var unavailable = new ScriptedExecutor("kubernetes")
        {
            Availability = ExecutorAvailability.Unavailable("GET /version: connection refused", DateTimeOffset.UnixEpoch),
        };
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o =>
        {
            o.DefaultExecutor = "kubernetes";
            o.Fallback.Executors.Add(TrainingExecutorNames.Subprocess);
            o.Availability.BackgroundRefresh = false;
            o.Subprocess.RunsDirectory = _ctx.RunsDirectory;
            o.Subprocess.Interpreter = SubprocessTestContext.Python;
            o.Subprocess.Script = SubprocessTestContext.TrainPy;
            o.Subprocess.StopGracePeriod = TimeSpan.FromSeconds(10);
        }).AddSubprocess().AddExecutor("kubernetes", _ => unavailable);
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        _ctx.Track(provider.GetRequiredService<VisionPlatform.Training.Subprocess.SubprocessTrainingExecutor>());
        var client = provider.GetRequiredService<TrainingClient>();
        var events = provider.GetRequiredService<ITrainingEventSource>();
        await using var recorder = new TrainingEventCollector(events, new TrainingEventSubscription { JobId = "job-fallback", IncludeCurrentState = false });

        // A long run, stopped only once the fallback event has arrived, so its end comes after it whatever the load.
        var result = await client.StartAsync(SubprocessTestContext.Job("job-fallback", epochs: 1000, new { epoch_seconds = 0.2 }).Build());
        var fallback = await recorder.WaitForAsync<TrainingFallbackEvent>(e => e.JobId == "job-fallback", TimeSpan.FromSeconds(60));
        await recorder.WaitForPhaseAsync("job-fallback", TrainingPhase.Running, TimeSpan.FromSeconds(60));
        await result.StopAsync(new TrainingStopOptions { GracePeriod = TimeSpan.FromSeconds(10) });
        var stopped = await recorder.WaitForPhaseAsync("job-fallback", TrainingPhase.Stopped, TimeSpan.FromSeconds(60));

        result.IsFallback.Should().BeTrue();
        fallback.RequestedExecutor.Should().Be("kubernetes");
        fallback.ExecutorUsed.Should().Be(TrainingExecutorNames.Subprocess);
        fallback.Run.Should().Be(result.Run);
        fallback.Reason.Should().Be(result.FallbackReason).And.Contain("'kubernetes' is unavailable").And.Contain("connection refused");

        // One numbering for every event of the run, in the order they were delivered, without gaps (no one wants logs).
        var mine = recorder.OfRun<TrainingRunEvent>("job-fallback");
        mine.Should().ContainSingle(e => e is TrainingFallbackEvent);
        mine.Select(e => e.Sequence).Should().Equal(Enumerable.Range(1, mine.Count).Select(i => (long)i));
        var phases = mine.OfType<TrainingPhaseChangedEvent>().ToList();
        phases.Select(p => p.Status.Phase).Where(p => p != TrainingPhase.Pending).Should().Equal(TrainingPhase.Running, TrainingPhase.Stopped);
        phases.Should().OnlyContain(p => p.Run.ExecutorName == TrainingExecutorNames.Subprocess);
        fallback.Sequence.Should().BeLessThan(stopped.Sequence, "the fallback is announced before the run ends");
        mine[^1].Should().Be(stopped);
    }
}
