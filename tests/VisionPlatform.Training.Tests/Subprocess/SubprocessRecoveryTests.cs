using System.Diagnostics;
using System.Text.Json.Nodes;
using static VisionPlatform.Training.Tests.Subprocess.SubprocessTestContext;

namespace VisionPlatform.Training.Tests.Subprocess;

public sealed class SubprocessRecoveryTests : IAsyncLifetime
{
    private readonly SubprocessTestContext _ctx = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _ctx.DisposeAsync();

    [Fact]
    public async Task A_new_executor_finds_finished_and_live_runs_and_reattaches_to_the_live_one()
    {
        var first = _ctx.CreateExecutor();
        var finishedBuilder = Job("job-finished", epochs: 1);
        finishedBuilder.ProjectId = "p1";
        finishedBuilder.Labels["team"] = "vision";
        var finished = await first.StartAsync(finishedBuilder.Build());
        (await WaitTerminalAsync(first, finished)).Phase.Should().Be(TrainingPhase.Succeeded);
        var live = await first.StartAsync(Job("job-live", epochs: 1000, new { epoch_seconds = 0.3, workers = 2 }).Build());
        await WaitForAsync(first, live, s => s.Phase == TrainingPhase.Running);
        var persisted = live.ToString();
        var pid = _ctx.ReadPid(live)!.Value;
        await first.DisposeAsync();
        IsAlive(pid).Should().BeTrue("disposing the executor (the host going away) does not stop trainers");

        var second = _ctx.CreateExecutor();
        var listed = await second.ListAsync();
        var found = await second.FindAsync("job-live");
        var liveStatus = await second.GetStatusAsync(TrainingRun.Parse(persisted));
        var finishedStatus = await second.GetStatusAsync(finished);

        listed.Select(s => s.JobId).Should().BeEquivalentTo(["job-finished", "job-live"]);
        (await second.ListAsync(new TrainingRunQuery { ProjectId = "p1" })).Should().ContainSingle().Which.JobId.Should().Be("job-finished");
        (await second.ListAsync(new TrainingRunQuery { Labels = new Dictionary<string, string> { ["team"] = "vision" } })).Should().ContainSingle();
        (await second.ListAsync(new TrainingRunQuery { Phases = [TrainingPhase.Running] })).Should().ContainSingle().Which.JobId.Should().Be("job-live");
        found.Should().Be(live);
        liveStatus.Phase.Should().Be(TrainingPhase.Running);
        finishedStatus.Phase.Should().Be(TrainingPhase.Succeeded);
        finishedStatus.ExitCode.Should().Be(0);

        // The reattached run is fully usable: logs keep flowing and stop kills its whole tree.
        var before = (await ReadLogAsync(second, live)).Count;
        await PollAsync(async () => (await ReadLogAsync(second, live)).Count > before, "more log lines");
        var tree = SessionMembers(pid);
        tree.Should().HaveCount(4, "the supervisor, the trainer and its 2 workers");
        var stopped = await second.StopAsync(live, new TrainingStopOptions { GracePeriod = TimeSpan.FromSeconds(20) });
        stopped.Phase.Should().Be(TrainingPhase.Stopped);
        stopped.Reason.Should().Be(TrainingStatusReasons.StoppedByUser);
        tree.Where(IsAlive).Should().BeEmpty();
    }

    [Fact]
    public async Task A_run_whose_process_ended_unobserved_is_Lost_with_ExitNotObserved()
    {
        var executor = _ctx.CreateExecutor();
        var run = await executor.StartAsync(Job("job-lost", epochs: 1).Build());
        await WaitTerminalAsync(executor, run);
        await executor.DisposeAsync();

        // Pretend the host died while it ran: state says Running, with a process that no longer exists as recorded
        // (a pid whose start time does not match: the pid may have been reused).
        var statePath = Path.Combine(_ctx.RunDirectory(run), "state.json");
        var state = JsonNode.Parse(File.ReadAllText(statePath))!;
        state["phase"] = "Running";
        state["reason"] = "Running";
        state["exitCode"] = null;
        state["finishedAt"] = null;
        state["pid"] = Environment.ProcessId;
        state["processStartTicks"] = 1;
        File.WriteAllText(statePath, state.ToJsonString());
        File.Delete(Path.Combine(_ctx.RunDirectory(run), "exit-status.json"));

        var next = _ctx.CreateExecutor();
        var status = await next.GetStatusAsync(run);

        status.Phase.Should().Be(TrainingPhase.Lost);
        status.Reason.Should().Be(TrainingStatusReasons.ExitNotObserved);
        status.ExitCode.Should().BeNull();
        IsAlive(Environment.ProcessId).Should().BeTrue("a reused pid is never signalled");
    }

    [Fact]
    public async Task A_live_process_that_does_not_carry_the_runs_marker_is_not_taken_for_the_trainer()
    {
        var executor = _ctx.CreateExecutor();
        var run = await executor.StartAsync(Job("job-foreign", epochs: 1).Build());
        await WaitTerminalAsync(executor, run);
        await executor.DisposeAsync();

        using var foreign = Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })!;
        var stat = ReadStat(foreign.Id)!.Value;
        var statePath = Path.Combine(_ctx.RunDirectory(run), "state.json");
        var state = JsonNode.Parse(File.ReadAllText(statePath))!;
        state["phase"] = "Running";
        state["reason"] = "Running";
        state["exitCode"] = null;
        state["finishedAt"] = null;
        state["pid"] = foreign.Id;
        state["processStartTicks"] = stat.Start;
        File.WriteAllText(statePath, state.ToJsonString());

        try
        {
            // pid, start time and boot id match, but the process does not carry the run's VP_RUN_MARKER: it is not the
            // run's, so it is neither reattached to nor signalled (a planted state file can copy a start time from /proc).
            File.Delete(Path.Combine(_ctx.RunDirectory(run), "exit-status.json"));
            var next = _ctx.CreateExecutor();
            var status = await next.GetStatusAsync(run);

            status.Phase.Should().Be(TrainingPhase.Lost);
            status.Reason.Should().Be(TrainingStatusReasons.ExitNotObserved);
            (await next.StopAsync(run, new TrainingStopOptions { GracePeriod = TimeSpan.Zero })).Phase.Should().Be(TrainingPhase.Lost);
            foreign.HasExited.Should().BeFalse("a process that is not the run's is never signalled");
        }
        finally
        {
            if (!foreign.HasExited)
            {
                foreign.Kill();
            }
        }
    }

    [Fact]
    public async Task Queued_runs_of_a_previous_executor_start_under_the_next_one()
    {
        var first = _ctx.CreateExecutor(ProbePy, maxConcurrentRuns: 1);
        var blocker = Job("job-blocker");
        blocker.Environment["PROBE_SLEEP"] = "60";
        var running = await first.StartAsync(blocker.Build());
        await WaitForAsync(first, running, s => s.Phase == TrainingPhase.Running);
        var queued = await first.StartAsync(Job("job-queued-restart").Build());
        (await first.GetStatusAsync(queued)).Phase.Should().Be(TrainingPhase.Pending);
        await first.DisposeAsync();

        // The next executor reattaches to the running blocker (which holds the only slot) and requeues the other.
        var second = _ctx.CreateExecutor(ProbePy, maxConcurrentRuns: 1);
        (await second.GetStatusAsync(running)).Phase.Should().Be(TrainingPhase.Running);
        (await second.GetStatusAsync(queued)).Phase.Should().Be(TrainingPhase.Pending);
        await second.StopAsync(running, new TrainingStopOptions { GracePeriod = TimeSpan.Zero });
        var status = await WaitTerminalAsync(second, queued);

        status.Phase.Should().Be(TrainingPhase.Succeeded, status.Message);
    }

    private static async Task PollAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Timed out waiting for " + what);
            }

            await Task.Delay(100);
        }
    }
}
