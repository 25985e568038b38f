using System.Diagnostics;
using System.Text.Json.Nodes;
using static VisionPlatform.Training.Tests.Subprocess.SubprocessTestContext;

namespace VisionPlatform.Training.Tests.Subprocess.Security;

/// <summary>
/// Issue 13, finding 1: run-state files are not trusted. A state.json planted (or corrupted) to name pid 0, 1, -N or an
/// unrelated process must lead to no signal at all, through recovery, listing and stop. The unrelated process is a real
/// child of the test that must survive; for pid 0 and 1 the evidence is that the test host (pid 0 would be its own
/// process group) and everything else (-1 is every process the host may signal) survive.
/// </summary>
public sealed class PlantedStateTests : IAsyncLifetime
{
    private readonly SubprocessTestContext _ctx = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _ctx.DisposeAsync();

    [Theory]
    [InlineData("unrelated")]
    [InlineData("minus-unrelated")]
    [InlineData("zero")]
    [InlineData("one")]
    public async Task A_planted_state_file_signals_nothing(string planted)
    {
        using var unrelated = Process.Start(new ProcessStartInfo("sleep", "120") { UseShellExecute = false })!;
        try
        {
            var run = await FinishedRunAsync("job-planted-" + planted);
            var start = ReadStat(unrelated.Id)!.Value.Start;
            var pid = planted switch
            {
                "unrelated" => unrelated.Id,
                "minus-unrelated" => -unrelated.Id,
                "zero" => 0,
                _ => 1,
            };

            // The attacker copies everything /proc shows about the process: its start time (and the boot id is the real one).
            Plant(run, pid, start);

            var next = _ctx.CreateExecutor(ProbePy);
            var listed = await next.ListAsync();
            var status = await next.GetStatusAsync(run);
            var stopped = await next.StopAsync(run, new TrainingStopOptions { GracePeriod = TimeSpan.Zero }).WaitAsync(TimeSpan.FromSeconds(30));

            listed.Should().ContainSingle(s => s.JobId == run.JobId);
            status.Phase.Should().Be(TrainingPhase.Lost, "the recorded process is not proven to be the run's");
            status.Reason.Should().Be(TrainingStatusReasons.ExitNotObserved);
            stopped.Phase.Should().Be(TrainingPhase.Lost);
            unrelated.HasExited.Should().BeFalse("no signal may reach a process that is not the run's");
            IsAlive(unrelated.Id).Should().BeTrue();
        }
        finally
        {
            unrelated.Kill();
            await unrelated.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task A_planted_state_file_with_a_missing_boot_id_is_not_a_match()
    {
        using var unrelated = Process.Start(new ProcessStartInfo("sleep", "120") { UseShellExecute = false })!;
        try
        {
            var run = await FinishedRunAsync("job-planted-no-boot");
            Plant(run, unrelated.Id, ReadStat(unrelated.Id)!.Value.Start, bootId: null);

            var next = _ctx.CreateExecutor(ProbePy);
            var status = await next.GetStatusAsync(run);
            await next.StopAsync(run, new TrainingStopOptions { GracePeriod = TimeSpan.Zero }).WaitAsync(TimeSpan.FromSeconds(30));

            status.Phase.Should().Be(TrainingPhase.Lost);
            unrelated.HasExited.Should().BeFalse();
        }
        finally
        {
            unrelated.Kill();
            await unrelated.WaitForExitAsync();
        }
    }

    private async Task<TrainingRun> FinishedRunAsync(string jobId)
    {
        var executor = _ctx.CreateExecutor(ProbePy);
        var run = await executor.StartAsync(Job(jobId).Build());
        (await WaitTerminalAsync(executor, run)).Phase.Should().Be(TrainingPhase.Succeeded);
        await executor.DisposeAsync();
        return run;
    }

    /// <summary>Rewrites the run's state as a live run with the given pid, and removes the recorded exit status.</summary>
    private void Plant(TrainingRun run, int pid, long startTicks, string? bootId = "keep")
    {
        var statePath = Path.Combine(_ctx.RunDirectory(run), "state.json");
        var state = JsonNode.Parse(File.ReadAllText(statePath))!;
        state["phase"] = "Running";
        state["reason"] = "Running";
        state["exitCode"] = null;
        state["finishedAt"] = null;
        state["pid"] = pid;
        state["processStartTicks"] = startTicks;
        if (bootId != "keep")
        {
            state["bootId"] = bootId;
        }

        File.WriteAllText(statePath, state.ToJsonString());
        File.Delete(Path.Combine(_ctx.RunDirectory(run), "exit-status.json"));
    }
}
