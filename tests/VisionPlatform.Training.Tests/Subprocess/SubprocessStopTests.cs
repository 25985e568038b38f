using static VisionPlatform.Training.Tests.Subprocess.SubprocessTestContext;

namespace VisionPlatform.Training.Tests.Subprocess;

public sealed class SubprocessStopTests : IAsyncLifetime
{
    private readonly SubprocessTestContext _ctx = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _ctx.DisposeAsync();

    [Fact]
    public async Task Stop_terminates_the_trainer_gracefully_and_leaves_no_process_of_its_tree_alive()
    {
        var executor = _ctx.CreateExecutor();
        var run = await executor.StartAsync(Job("job-workers", epochs: 1000, new { workers = 4, epoch_seconds = 0.5 }).Build());
        await WaitForAsync(executor, run, s => s.Phase == TrainingPhase.Running);
        var pid = _ctx.ReadPid(run)!.Value;
        var tree = await PollAsync(() => SessionMembers(pid) is { Count: 6 } m ? m : null, what: "the supervisor, the trainer and its 4 workers");
        tree.Should().Contain(pid);
        ReadStat(pid)!.Value.Session.Should().Be(pid, "the run's supervisor leads its own session");
        ReadStat(pid)!.Value.Group.Should().Be(pid, "the run's supervisor leads its own process group");
        ReadStat(TrainerPid(pid))!.Value.Group.Should().Be(pid, "the trainer is in the run's process group");

        var status = await executor.StopAsync(run, new TrainingStopOptions { GracePeriod = TimeSpan.FromSeconds(20) });

        status.Phase.Should().Be(TrainingPhase.Stopped);
        status.Reason.Should().Be(TrainingStatusReasons.StoppedByUser);
        status.ExitCode.Should().Be(143, "train.py writes a checkpoint on SIGTERM and exits 143");
        tree.Where(IsAlive).Should().BeEmpty("no process of the tree may survive (the workers ignore SIGTERM)");
        SessionMembers(pid).Should().BeEmpty();
        File.Exists(Path.Combine(_ctx.RunDirectory(run), "output", "weights", "last.json")).Should().BeTrue("the trainer checkpoints on SIGTERM");
        (await ReadLogAsync(executor, run)).Should().Contain(l => l.StartsWith("received SIGTERM", StringComparison.Ordinal));

        var again = await executor.StopAsync(run);
        again.Should().Be(status, "stop is idempotent");
    }

    [Fact]
    public async Task A_trainer_that_ignores_SIGTERM_is_killed_after_the_grace_period()
    {
        var executor = _ctx.CreateExecutor(ProbePy);
        var builder = Job("job-stubborn");
        builder.Environment["PROBE_IGNORE_TERM"] = "1";
        builder.Environment["PROBE_SLEEP"] = "120";
        var run = await executor.StartAsync(builder.Build());
        await WaitForAsync(executor, run, s => s.Phase == TrainingPhase.Running);
        await PollAsync(() => File.Exists(Path.Combine(_ctx.RunDirectory(run), "train.log")) && File.ReadAllText(Path.Combine(_ctx.RunDirectory(run), "train.log")).Contains("CWD", StringComparison.Ordinal) ? "" : null, what: "the probe to start");
        var pid = _ctx.ReadPid(run)!.Value;

        var status = await executor.StopAsync(run, new TrainingStopOptions { GracePeriod = TimeSpan.FromMilliseconds(500) });

        status.Phase.Should().Be(TrainingPhase.Stopped);
        status.Reason.Should().Be(TrainingStatusReasons.StoppedByUser);
        status.ExitCode.Should().Be(137);
        IsAlive(pid).Should().BeFalse();
    }

    [Fact]
    public async Task Orphaned_children_are_killed_when_the_trainer_exits_on_its_own()
    {
        var executor = _ctx.CreateExecutor(ProbePy);
        var builder = Job("job-orphans");
        builder.Environment["PROBE_CHILDREN"] = "3";
        builder.Environment["PROBE_EXIT"] = "0";
        var run = await executor.StartAsync(builder.Build());

        var status = await WaitTerminalAsync(executor, run);

        status.Phase.Should().Be(TrainingPhase.Succeeded);
        var children = (await ReadLogAsync(executor, run))
            .Where(l => l.StartsWith("CHILD ", StringComparison.Ordinal))
            .Select(l => int.Parse(l[6..], System.Globalization.CultureInfo.InvariantCulture))
            .ToList();
        children.Should().HaveCount(3);
        await PollAsync(() => children.Any(IsAlive) ? null : "", what: "the orphans to be gone");
        children.Where(IsAlive).Should().BeEmpty("the trainer's leftovers are killed with its process group");
    }

    [Fact]
    public async Task Stopping_a_queued_run_cancels_it_and_it_never_starts()
    {
        var executor = _ctx.CreateExecutor(ProbePy, maxConcurrentRuns: 1);
        var first = Job("job-first");
        first.Environment["PROBE_SLEEP"] = "60";
        var running = await executor.StartAsync(first.Build());
        var queued = await executor.StartAsync(Job("job-queued").Build());

        var pending = await executor.GetStatusAsync(queued);
        pending.Phase.Should().Be(TrainingPhase.Pending);
        pending.Reason.Should().Be(TrainingStatusReasons.WaitingForSlot);

        var stopped = await executor.StopAsync(queued);
        stopped.Phase.Should().Be(TrainingPhase.Stopped);
        stopped.Reason.Should().Be(TrainingStatusReasons.StoppedByUser);
        stopped.ExitCode.Should().BeNull();

        (await executor.StopAsync(running, new TrainingStopOptions { GracePeriod = TimeSpan.Zero })).Phase.Should().Be(TrainingPhase.Stopped);
        await Task.Delay(300);
        (await executor.GetStatusAsync(queued)).Phase.Should().Be(TrainingPhase.Stopped);
        File.Exists(Path.Combine(_ctx.RunDirectory(queued), "train.log")).Should().BeFalse("the queued run never started");
    }
}
