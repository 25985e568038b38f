using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using VisionPlatform.Training.Subprocess;
using VisionPlatform.Training.TestSupport;
using VisionPlatform.Training.Tests.Trainers;
using static VisionPlatform.Training.Tests.Subprocess.SubprocessTestContext;

namespace VisionPlatform.Training.Tests.Subprocess;

/// <summary>
/// Distributed jobs on the subprocess executor with real torch, through the executor the container registers: torchrun
/// starts the reference trainer (samples/trainer/train_torch.py) as a gloo DDP group of two processes. Every wait is for
/// a file, a phase or an exit; the trainer's gates and holds put each kill and stop at a known point.
/// </summary>
[Collection(TorchTrainerCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SubprocessDistributedTorchTests : IAsyncLifetime
{
    private const int SigKill = 9;
    private static readonly TimeSpan RunLimit = TimeSpan.FromMinutes(4);
    private readonly SubprocessTestContext _ctx = new();
    private ServiceProvider? _provider;

    public async Task InitializeAsync() => await PyTorchRequirement.EnsureAsync();

    public async Task DisposeAsync()
    {
        await _ctx.DisposeAsync();
        if (_provider is not null)
        {
            await _provider.DisposeAsync();
        }
    }

    [Fact]
    public async Task One_node_of_two_processes_trains_as_one_ddp_group_and_every_rank_ends_with_the_same_loss()
    {
        var executor = Executor(maxRestarts: 0);
        var job = SubprocessDistributedLaunchTests.TorchJob("job-sub-ddp", epochs: 3, processes: 2).WithAdvancedConfig(new { rank_files = true }).Build();

        var run = await executor.StartAsync(job);
        var status = await WaitTerminalAsync(executor, run, RunLimit);

        status.Phase.Should().Be(TrainingPhase.Succeeded, status.Message);
        var output = Output(run);
        var metrics = Json(Path.Combine(output, "metrics.json"));
        metrics.GetProperty("world_size").GetInt32().Should().Be(2);
        metrics.GetProperty("ranks").EnumerateArray().Select(r => r.GetProperty("rank").GetInt32()).Should().Equal(0, 1);
        metrics.GetProperty("restart_count").GetInt32().Should().Be(0);
        var finalLoss = metrics.GetProperty("final").GetProperty("loss").GetDouble();
        foreach (var rank in new[] { 0, 1 })
        {
            var file = TrainerProcess.ReadRankFile(output, rank)!.Value;
            file.GetProperty("phase").GetString().Should().Be("finished");
            file.GetProperty("world_size").GetInt32().Should().Be(2);
            file.GetProperty("final_loss").GetDouble().Should().Be(finalLoss, $"rank {rank} all-reduces the same loss");
        }

        status.Progress!.Epoch.Should().Be(3, "rank 0's progress lines reach the status");
        status.Progress.Metrics["loss"].Should().Be(finalLoss);

        // torchrun's merged output is the run's log: rank 0's stdout as is, every worker's stderr prefixed.
        var log = await ReadLogAsync(executor, run);
        log.Should().Contain(l => l.StartsWith("VP_PROGRESS ", StringComparison.Ordinal));
        log.Should().Contain(l => l.StartsWith("[default1]:rank 1: training finished: 3 epochs", StringComparison.Ordinal));
        Directory.EnumerateFiles(Path.Combine(_ctx.RunDirectory(run), "torchrun"), "stderr.log", SearchOption.AllDirectories).Should().HaveCount(2, "torchrun keeps each worker's stream inside the run directory");
        MarkedProcesses(run).Should().BeEmpty();
    }

    [Fact]
    public async Task Killing_one_worker_restarts_the_whole_group_which_resumes_from_the_last_checkpoint()
    {
        var executor = Executor(maxRestarts: 1);
        var never = Path.Combine(_ctx.Root, "never");
        // Both ranks hold after epoch 1 (its checkpoint written): the kill lands at a known point. The restarted group
        // resumes at epoch 2 and does not hold again.
        var job = SubprocessDistributedLaunchTests.TorchJob("job-sub-restart", epochs: 3, processes: 2)
            .WithAdvancedConfig(new { rank_files = true, hold_after_epoch = 1, hold_gate = never }).Build();

        var run = await executor.StartAsync(job);
        var output = Output(run);
        await WaitForFilesAsync(executor, run, () => Phase(output, 0) == ("held", 0) && Phase(output, 1) == ("held", 0), "both ranks to hold after epoch 1");
        var firstPids = new[] { 0, 1 }.Select(r => TrainerProcess.ReadRankFile(output, r)!.Value.GetProperty("pid").GetInt32()).ToList();
        var killedAt = TimeProvider.System.GetTimestamp();
        Kill(firstPids[1], SigKill);

        // The attempt fails when torchrun sees the dead worker (its monitor interval is 5 s), not at the 300 s
        // collective timeout: the restarted workers' rank files appear first.
        await WaitForFilesAsync(executor, run, () => Phase(output, 0).RestartCount == 1 && Phase(output, 1).RestartCount == 1, "the restarted group");
        var restartedAfter = TimeProvider.System.GetElapsedTime(killedAt);
        var status = await WaitTerminalAsync(executor, run, RunLimit);

        status.Phase.Should().Be(TrainingPhase.Succeeded, status.Message);
        restartedAfter.Should().BeLessThan(TimeSpan.FromSeconds(120), "the group restarts after torchrun notices the exit, long before the gloo timeout (300 s)");
        var metrics = Json(Path.Combine(output, "metrics.json"));
        metrics.GetProperty("resumed_from_epoch").GetInt32().Should().Be(1);
        metrics.GetProperty("restart_count").GetInt32().Should().Be(1);
        metrics.GetProperty("world_size").GetInt32().Should().Be(2);
        metrics.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("epoch").GetInt32()).Should().Equal(1, 2, 3);
        metrics.GetProperty("ranks").EnumerateArray().Select(r => r.GetProperty("pid").GetInt32()).Should().NotIntersectWith(firstPids, "every worker was restarted");
        var log = await ReadLogAsync(executor, run);
        log.Should().Contain("resuming from " + Path.Combine(output, "weights", "last.pt") + " at epoch 2");
        log.Should().Contain(l => l.Contains("failed (exitcode: -9) local_rank: 1", StringComparison.Ordinal));
        MarkedProcesses(run).Should().BeEmpty();
    }

    [Fact]
    public async Task A_failure_after_the_restarts_are_used_up_fails_the_run_and_says_torchrun_hides_the_workers_codes()
    {
        var executor = Executor(maxRestarts: 0);
        var job = SubprocessDistributedLaunchTests.TorchJob("job-sub-fail", epochs: 3, processes: 2).WithAdvancedConfig(new { fail_at_epoch = 2 }).Build();

        var run = await executor.StartAsync(job);
        var status = await WaitTerminalAsync(executor, run, RunLimit);

        status.Phase.Should().Be(TrainingPhase.Failed, status.Message);
        status.Reason.Should().Be(TrainingStatusReasons.NonZeroExitCode);
        status.ExitCode.Should().Be(1);
        status.Message.Should().StartWith("torchrun ended with exit code 1: a worker failed and the group's restarts (Training:Subprocess:Distributed:MaxRestarts) were used up");
        (await ReadLogAsync(executor, run)).Should().Contain(l => l.Contains("train_torch.py: error: training failed", StringComparison.Ordinal));
        MarkedProcesses(run).Should().BeEmpty();
    }

    [Fact]
    public async Task Stop_ends_torchrun_and_every_worker_and_the_run_is_stopped()
    {
        var executor = Executor(maxRestarts: 3);
        var never = Path.Combine(_ctx.Root, "never");
        var job = SubprocessDistributedLaunchTests.TorchJob("job-sub-stop", epochs: 3, processes: 2)
            .WithAdvancedConfig(new { rank_files = true, start_gate = never }).Build();

        var run = await executor.StartAsync(job);
        var output = Output(run);
        await WaitForFilesAsync(executor, run, () => Phase(output, 0) == ("gate", 0) && Phase(output, 1) == ("gate", 0), "both ranks to wait at the start gate");
        var group = MarkedProcesses(run);
        group.Should().HaveCountGreaterThanOrEqualTo(4, "the supervisor, torchrun and two workers carry the run's marker");
        group.Should().Contain(new[] { 0, 1 }.Select(r => TrainerProcess.ReadRankFile(output, r)!.Value.GetProperty("pid").GetInt32()));

        var status = await executor.StopAsync(run, new TrainingStopOptions { GracePeriod = TimeSpan.FromSeconds(30) });

        status.Phase.Should().Be(TrainingPhase.Stopped, status.Message);
        status.Reason.Should().Be(TrainingStatusReasons.StoppedByUser, "torchrun exits 1 after a SIGTERM, but the executor asked for the stop");
        group.Where(IsAlive).Should().BeEmpty("no process of the group may survive");
        MarkedProcesses(run).Should().BeEmpty();
        (await executor.GetStatusAsync(run)).Phase.Should().Be(TrainingPhase.Stopped, "torchrun does not restart a group it was told to stop");
    }

    private SubprocessTrainingExecutor Executor(int maxRestarts)
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o =>
        {
            o.DefaultExecutor = TrainingExecutorNames.Subprocess;
            o.Availability.BackgroundRefresh = false;
            o.Subprocess.RunsDirectory = _ctx.RunsDirectory;
            o.Subprocess.Interpreter = Python;
            o.Subprocess.Script = TrainPy;
            o.Subprocess.Frameworks[TrainingFramework.PyTorch.Value] = new SubprocessFrameworkOptions
            {
                Interpreter = PyTorchRequirement.Interpreter,
                Script = TrainerProcess.TrainTorchPy,
            };
            o.Subprocess.StopGracePeriod = TimeSpan.FromSeconds(30);
            o.Subprocess.Distributed.MaxRestarts = maxRestarts;
        }).AddSubprocess();
        _provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        return _ctx.Track(_provider.GetRequiredService<SubprocessTrainingExecutor>());
    }

    private string Output(TrainingRun run) => Path.Combine(_ctx.RunDirectory(run), "output");

    /// <summary>Waits for a condition on the trainer's files; fails at once (with the log) if the run ends first.</summary>
    private static async Task WaitForFilesAsync(ITrainingExecutor executor, TrainingRun run, Func<bool> condition, string what)
    {
        var deadline = TimeProvider.System.GetTimestamp();
        while (!condition())
        {
            var status = await executor.GetStatusAsync(run);
            if (status.IsTerminal)
            {
                throw new InvalidOperationException($"The run ended ({status.Phase}/{status.Reason}) while waiting for {what}: {status.Message}\n{string.Join('\n', await ReadLogAsync(executor, run))}");
            }

            if (TimeProvider.System.GetElapsedTime(deadline) > RunLimit)
            {
                throw new TimeoutException($"Timed out waiting for {what}:\n{string.Join('\n', await ReadLogAsync(executor, run))}");
            }

            await Task.Delay(50);
        }
    }

    private static (string? Phase, int RestartCount) Phase(string output, int rank) =>
        TrainerProcess.ReadRankFile(output, rank) is { } file
            ? (file.GetProperty("phase").GetString(), file.GetProperty("restart_count").GetInt32())
            : (null, -1);

    private static JsonElement Json(string path) => TrainerProcess.ReadJson(path) ?? throw new FileNotFoundException(path);

    /// <summary>Every live process that carries the run's marker (the supervisor, torchrun, its workers, any orphan).</summary>
    private List<int> MarkedProcesses(TrainingRun run)
    {
        var marker = Json(Path.Combine(_ctx.RunDirectory(run), "state.json")).GetProperty("runMarker").GetString()!;
        return Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0)
            .Where(pid => pid > 1 && IsAlive(pid) && CarriesMarker(pid, marker))
            .ToList();
    }
}
