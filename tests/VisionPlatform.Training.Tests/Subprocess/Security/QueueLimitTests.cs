using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using static VisionPlatform.Training.Tests.Subprocess.SubprocessTestContext;

namespace VisionPlatform.Training.Tests.Subprocess.Security;

/// <summary>Issue 13, finding 4 (subprocess side): the Pending queue is bounded by Training:Subprocess:MaxQueuedRuns.</summary>
public sealed class QueueLimitTests : IAsyncLifetime
{
    private readonly SubprocessTestContext _ctx = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _ctx.DisposeAsync();

    [Fact]
    public async Task A_start_beyond_MaxQueuedRuns_fails_with_QueueFull_and_creates_nothing()
    {
        var options = _ctx.NewOptions(ProbePy, maxConcurrentRuns: 1);
        options.Subprocess.MaxQueuedRuns = 2;
        var executor = _ctx.CreateExecutor(options);
        var blocker = Job("job-queue-blocker");
        blocker.Environment["PROBE_SLEEP"] = "60";
        var running = await executor.StartAsync(blocker.Build());
        await WaitForAsync(executor, running, s => s.Phase == TrainingPhase.Running);
        var first = await executor.StartAsync(Job("job-queued-1").Build());
        var second = await executor.StartAsync(Job("job-queued-2").Build());

        var act = () => executor.StartAsync(Job("job-queued-3").Build());

        var error = (await act.Should().ThrowAsync<TrainingException>()).Which;
        error.Code.Should().Be(TrainingErrorCode.QueueFull);
        error.Message.Should().Contain("Training:Subprocess:MaxQueuedRuns").And.Contain("2");
        Directory.Exists(Path.Combine(_ctx.RunsDirectory, VisionPlatform.Training.Subprocess.Runs.RunPaths.NameFor("job-queued-3"))).Should().BeFalse();
        (await executor.StartAsync(Job("job-queued-1").Build())).Should().Be(first, "a start of a queued job id still returns its run");

        // Once a queued run has left the queue there is room again.
        await executor.StopAsync(second);
        (await executor.StartAsync(Job("job-queued-3").Build())).JobId.Should().Be("job-queued-3");
    }

    [Fact]
    public async Task MaxQueuedRuns_out_of_range_is_refused_at_start_up_naming_the_key()
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o => o.Subprocess.MaxQueuedRuns = 0);
        await using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IOptions<TrainingOptions>>().Value;

        act.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain("Training:Subprocess:MaxQueuedRuns is 0: it must be between 1 and 100000.");
    }
}
