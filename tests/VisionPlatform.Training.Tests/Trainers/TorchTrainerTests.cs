using System.Globalization;
using System.Text.Json;
using VisionPlatform.Training.TestSupport;

namespace VisionPlatform.Training.Tests.Trainers;

/// <summary>
/// The reference PyTorch trainer (samples/trainer/train_torch.py) with real torch: alone, and under torchrun as a
/// two-worker gloo DDP group, including a whole-group restart after a worker is killed. Every wait is for a file or an
/// exit, never for a time; every process a test starts is gone when it ends.
/// </summary>
[Collection(TorchTrainerCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class TorchTrainerTests : IAsyncLifetime
{
    private const int SigKill = 9;
    private const int SigTerm = 15;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "vp-torch-trainer-tests", Guid.NewGuid().ToString("N"));
    private readonly List<TrainerProcess> _processes = [];

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        await PyTorchRequirement.EnsureAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task A_single_process_trains_a_cnn_and_writes_progress_checkpoints_and_metrics()
    {
        var output = Path.Combine(_root, "single");
        var run = Track(TrainerProcess.StartTrainer(Args(output, "job-torch-single", epochs: 3, "--pretrained")));

        (await run.WaitForExitAsync()).Should().Be(0, run.Output);

        var progress = ProgressLines(run.Stdout);
        progress.Select(p => p.GetProperty("epoch").GetInt32()).Should().Equal(1, 2, 3);
        progress.Should().OnlyContain(p => p.GetProperty("total_epochs").GetInt32() == 3 && p.GetProperty("metrics").GetProperty("loss").ValueKind == JsonValueKind.Number);
        var losses = progress.Select(p => p.GetProperty("metrics").GetProperty("loss").GetDouble()).ToList();
        losses[^1].Should().BeLessThan(losses[0], "the seeded synthetic classes are learnable");
        run.Stderr.Should().Contain(l => l.Contains("--pretrained: this trainer never downloads weights; training from scratch", StringComparison.Ordinal));

        var metrics = Metrics(output);
        metrics.GetProperty("world_size").GetInt32().Should().Be(1);
        metrics.GetProperty("ranks").EnumerateArray().Select(r => r.GetProperty("rank").GetInt32()).Should().Equal(0);
        metrics.GetProperty("epochs_completed").GetInt32().Should().Be(3);
        metrics.GetProperty("resumed_from_epoch").GetInt32().Should().Be(0);
        metrics.GetProperty("final").GetProperty("loss").GetDouble().Should().Be(losses[^1]);

        Files(output).Should().BeEquivalentTo(
            "checkpoints/epoch_1.pt", "checkpoints/epoch_2.pt", "checkpoints/epoch_3.pt", "weights/last.pt", "metrics.json", "run.json");
        foreach (var file in Directory.EnumerateFiles(output, "*", SearchOption.AllDirectories))
        {
            File.GetUnixFileMode(file).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite, file);
        }

        foreach (var dir in new[] { output, Path.Combine(output, "checkpoints"), Path.Combine(output, "weights") })
        {
            File.GetUnixFileMode(dir).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, dir);
        }

        run.MarkedProcesses().Should().BeEmpty();
    }

    [Fact]
    public async Task Under_torchrun_two_ranks_form_one_ddp_group_and_agree_on_the_final_loss()
    {
        var output = Path.Combine(_root, "ddp");
        var run = Track(TrainerProcess.StartTorchRun(2, maxRestarts: 0, Path.Combine(_root, "ddp-logs"),
            Args(output, "job-torch-ddp", epochs: 3, "--rank_files")));

        (await run.WaitForExitAsync()).Should().Be(0, run.Output);

        var metrics = Metrics(output);
        metrics.GetProperty("world_size").GetInt32().Should().Be(2);
        metrics.GetProperty("ranks").EnumerateArray().Select(r => r.GetProperty("rank").GetInt32()).Should().Equal(0, 1);
        metrics.GetProperty("ranks").EnumerateArray().Should().OnlyContain(r => r.GetProperty("hostname").GetString()!.Length > 0);
        metrics.GetProperty("epochs_completed").GetInt32().Should().Be(3);
        var finalLoss = metrics.GetProperty("final").GetProperty("loss").GetDouble();
        foreach (var rank in new[] { 0, 1 })
        {
            var file = TrainerProcess.ReadRankFile(output, rank)!.Value;
            file.GetProperty("phase").GetString().Should().Be("finished");
            file.GetProperty("world_size").GetInt32().Should().Be(2);
            file.GetProperty("final_loss").GetDouble().Should().Be(finalLoss, $"rank {rank} all-reduces the same loss");
        }

        // Only rank 0 reports progress, on stdout, which torchrun -t 2 leaves unprefixed; the other rank logs to stderr
        // under torchrun's "[<role><local rank>]:" prefix.
        ProgressLines(run.Stdout).Select(p => p.GetProperty("epoch").GetInt32()).Should().Equal(1, 2, 3);
        ProgressLines(run.Stdout)[^1].GetProperty("metrics").GetProperty("loss").GetDouble().Should().Be(finalLoss);
        run.Stderr.Should().NotContain(l => l.Contains("VP_PROGRESS", StringComparison.Ordinal));
        run.Stderr.Should().Contain(l => l.StartsWith("[default1]:rank 1: training finished: 3 epochs", StringComparison.Ordinal));

        run.MarkedProcesses().Should().BeEmpty("torchrun's workers end with it");
    }

    [Fact]
    public async Task Killing_one_worker_restarts_the_whole_group_which_resumes_from_the_last_checkpoint()
    {
        var output = Path.Combine(_root, "restart");
        // Every rank holds after epoch 1 (its checkpoint written) until a file that never appears: the kill lands at a
        // known point. The restarted group resumes at epoch 2 and does not hold again.
        var run = Track(TrainerProcess.StartTorchRun(2, maxRestarts: 1, Path.Combine(_root, "restart-logs"),
            Args(output, "job-torch-restart", epochs: 3, "--rank_files", "--hold_after_epoch", "1", "--hold_gate", Path.Combine(_root, "never"))));

        await run.WaitUntilAsync(() => Phase(output, 0) == ("held", 0) && Phase(output, 1) == ("held", 0), "both ranks to hold after epoch 1");
        File.Exists(Path.Combine(output, "checkpoints", "epoch_1.pt")).Should().BeTrue();
        var firstPids = new[] { 0, 1 }.Select(r => TrainerProcess.ReadRankFile(output, r)!.Value.GetProperty("pid").GetInt32()).ToList();
        TrainerProcess.Signal(firstPids[1], SigKill);

        (await run.WaitForExitAsync()).Should().Be(0, run.Output);

        var metrics = Metrics(output);
        metrics.GetProperty("resumed_from_epoch").GetInt32().Should().Be(1, run.Output);
        metrics.GetProperty("restart_count").GetInt32().Should().Be(1);
        metrics.GetProperty("world_size").GetInt32().Should().Be(2);
        metrics.GetProperty("epochs_completed").GetInt32().Should().Be(3);
        metrics.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("epoch").GetInt32()).Should().Equal(1, 2, 3);
        metrics.GetProperty("ranks").EnumerateArray().Select(r => r.GetProperty("pid").GetInt32()).Should().NotIntersectWith(firstPids, "every worker was restarted");
        run.Stdout.Should().Contain(l => l == "received SIGTERM: checkpoint saved to " + Path.Combine(output, "weights", "last.pt") + "; exiting",
            "torchrun stops the surviving rank 0 with SIGTERM");
        run.Stdout.Should().Contain("resuming from " + Path.Combine(output, "weights", "last.pt") + " at epoch 2");
        run.Stderr.Should().Contain(l => l.Contains("failed (exitcode: -9) local_rank: 1", StringComparison.Ordinal));
        foreach (var rank in new[] { 0, 1 })
        {
            TrainerProcess.ReadRankFile(output, rank)!.Value.GetProperty("restart_count").GetInt32().Should().Be(1);
        }

        run.MarkedProcesses().Should().BeEmpty("the killed worker, the stopped one and their replacements are all gone");
    }

    [Fact]
    public async Task Two_torchrun_agents_with_a_static_rendezvous_form_one_group_and_both_restart_when_a_worker_dies()
    {
        // Two "nodes" on this machine, two workers each: world size 4, ranks 0-1 on node 0 (which writes the files into
        // its own output directory), 2-3 on node 1. Only rank 3 holds after epoch 1; ranks 0-2 wait for it in their
        // next collective, so killing it makes their collective fail, and both agents restart their workers.
        var outputs = new[] { Path.Combine(_root, "node0"), Path.Combine(_root, "node1") };
        var port = TrainerProcess.FreePort();
        var agents = Enumerable.Range(0, 2).Select(node => Track(TrainerProcess.StartTorchRunNode(2, node, port, processes: 2, maxRestarts: 1,
            Path.Combine(_root, $"node{node}-logs"),
            Args(outputs[node], "job-torch-nodes", epochs: 3, "--rank_files", "--hold_after_epoch", "1", "--hold_ranks", "3",
                "--hold_gate", Path.Combine(_root, "never"))))).ToList();

        await agents[1].WaitUntilAsync(() => Phase(outputs[1], 3) == ("held", 0), "rank 3 to hold after epoch 1");
        TrainerProcess.Signal(TrainerProcess.ReadRankFile(outputs[1], 3)!.Value.GetProperty("pid").GetInt32(), SigKill);

        foreach (var agent in agents)
        {
            (await agent.WaitForExitAsync()).Should().Be(0, agent.Output);
        }

        var metrics = Metrics(outputs[0]);
        metrics.GetProperty("world_size").GetInt32().Should().Be(4);
        metrics.GetProperty("ranks").EnumerateArray().Select(r => r.GetProperty("rank").GetInt32()).Should().Equal(0, 1, 2, 3);
        metrics.GetProperty("resumed_from_epoch").GetInt32().Should().Be(1, "node 1's workers resumed from the checkpoint rank 0 broadcast");
        metrics.GetProperty("restart_count").GetInt32().Should().Be(1, "node 0's agent restarted too");
        File.Exists(Path.Combine(outputs[1], "metrics.json")).Should().BeFalse("only rank 0 writes results");
        foreach (var (output, rank) in new[] { (outputs[0], 0), (outputs[0], 1), (outputs[1], 2), (outputs[1], 3) })
        {
            var file = TrainerProcess.ReadRankFile(output, rank)!.Value;
            file.GetProperty("restart_count").GetInt32().Should().Be(1, $"rank {rank} belongs to the restarted group");
            file.GetProperty("final_loss").GetDouble().Should().Be(metrics.GetProperty("final").GetProperty("loss").GetDouble());
        }

        agents.Should().OnlyContain(a => a.MarkedProcesses().Count == 0);
    }

    [Fact]
    public async Task Sigterm_makes_the_trainer_checkpoint_and_exit_143_and_a_rerun_resumes_after_it()
    {
        var output = Path.Combine(_root, "sigterm");
        var run = Track(TrainerProcess.StartTrainer(Args(output, "job-torch-sigterm", epochs: 4, "--rank_files", "--hold_after_epoch", "2", "--hold_gate", Path.Combine(_root, "never"))));
        await run.WaitUntilAsync(() => Phase(output, 0) == ("held", 0), "the trainer to hold after epoch 2");

        TrainerProcess.Signal(run.Pid, SigTerm);

        (await run.WaitForExitAsync()).Should().Be(143, run.Output);
        run.Stdout.Should().Contain("received SIGTERM: checkpoint saved to " + Path.Combine(output, "weights", "last.pt") + "; exiting");
        TrainerProcess.ReadRankFile(output, 0)!.Value.GetProperty("phase").GetString().Should().Be("stopped");
        File.Exists(Path.Combine(output, "metrics.json")).Should().BeFalse("the run did not finish");

        // The output directory holds a checkpoint: a rerun resumes from its newest one (as a torchrun restart does),
        // even when the command line names an older --checkpoint_path.
        var rerun = Track(TrainerProcess.StartTrainer(Args(output, "job-torch-sigterm", epochs: 4,
            "--checkpoint_path", Path.Combine(output, "checkpoints", "epoch_1.pt"), "--resume")));
        (await rerun.WaitForExitAsync()).Should().Be(0, rerun.Output);
        rerun.Stdout.Should().Contain("resuming from " + Path.Combine(output, "weights", "last.pt") + " at epoch 3");
        Metrics(output).GetProperty("resumed_from_epoch").GetInt32().Should().Be(2);
        ProgressLines(rerun.Stdout).Select(p => p.GetProperty("epoch").GetInt32()).Should().Equal(3, 4);
        run.MarkedProcesses().Should().BeEmpty();
        rerun.MarkedProcesses().Should().BeEmpty();
    }

    [Fact]
    public async Task Sigterm_to_torchrun_stops_every_worker_after_rank_0_checkpoints()
    {
        var output = Path.Combine(_root, "torchrun-sigterm");
        var run = Track(TrainerProcess.StartTorchRun(2, maxRestarts: 1, Path.Combine(_root, "torchrun-sigterm-logs"),
            Args(output, "job-torch-agent-sigterm", epochs: 3, "--rank_files", "--hold_after_epoch", "1", "--hold_gate", Path.Combine(_root, "never"))));
        await run.WaitUntilAsync(() => Phase(output, 0) == ("held", 0) && Phase(output, 1) == ("held", 0), "both ranks to hold after epoch 1");

        TrainerProcess.Signal(run.Pid, SigTerm);

        // torch 1.13's agent forwards SIGTERM to its workers, waits for them, then dies of its own SignalException:
        // its exit code is 1, not 143 (an executor must remember that it asked for the stop).
        (await run.WaitForExitAsync()).Should().NotBe(0, run.Output);
        run.Stderr.Should().Contain(l => l.Contains("Received 15 death signal, shutting down workers", StringComparison.Ordinal));
        run.Stdout.Should().Contain("received SIGTERM: checkpoint saved to " + Path.Combine(output, "weights", "last.pt") + "; exiting");
        foreach (var rank in new[] { 0, 1 })
        {
            TrainerProcess.ReadRankFile(output, rank)!.Value.GetProperty("phase").GetString().Should().Be("stopped", $"rank {rank} handled SIGTERM");
        }

        run.MarkedProcesses().Should().BeEmpty("no restart after a stop");
    }

    [Theory]
    [InlineData("--framework", "tensorflow", "--framework: 'tensorflow' is not supported by train_torch.py (use pytorch)")]
    [InlineData("--epochs", "ten", "--epochs: 'ten' is not an integer")]
    [InlineData("--epochs", "0", "--epochs: 0 must be an integer between 1 and 100000")]
    [InlineData("--learning_rate", "-1", "--learning_rate: -1.0 must be a number greater than 0 and at most 10")]
    [InlineData("--batch_size", "0", "--batch_size: 0 must be an integer between 1 and 65536")]
    [InlineData("--image_size", "4", "--image_size: 4 must be an integer between 8 and 512")]
    [InlineData("--optimizer", "lbfgs", "--optimizer: 'lbfgs' is not supported")]
    [InlineData("--model_name", "yolo11n", "--model_name: 'yolo11n' is not tiny_cnn or a torchvision classification model")]
    [InlineData("--resume", null, "--resume: needs --checkpoint_path")]
    [InlineData("--advanced_config", "[1]", "--advanced_config: must be a JSON object, got list")]
    public async Task Bad_input_exits_2_with_one_line_naming_the_flag(string flag, string? value, string message)
    {
        var output = Path.Combine(_root, "bad");
        var run = Track(TrainerProcess.StartTrainer(Args(output, "job-torch-bad", epochs: 1, value is null ? [flag] : [flag, value])));

        (await run.WaitForExitAsync()).Should().Be(2, run.Output);

        run.Stderr.Where(l => l.Length > 0).Should().ContainSingle().Which.Should().StartWith("train_torch.py: error: " + message);
        ProgressLines(run.Stdout).Should().BeEmpty();
        run.MarkedProcesses().Should().BeEmpty();
    }

    [Fact]
    public async Task It_accepts_every_flag_of_the_demo_trainer()
    {
        // Both parsers, compared by their option strings: train_torch.py must accept everything train.py does.
        const string Script = """
            import sys
            sys.path.insert(0, sys.argv[1])
            import train, train_torch
            def flags(parser):
                return {o for a in parser._actions for o in a.option_strings}
            print("missing:", sorted(flags(train.build_parser()) - flags(train_torch.build_parser())))
            """;
        var run = Track(TrainerProcess.Start(PyTorchRequirement.Interpreter, ["-c", Script, Path.GetDirectoryName(TrainerProcess.TrainPy)!]));

        (await run.WaitForExitAsync()).Should().Be(0, run.Output);

        run.Stdout.Should().Equal("missing: []");
    }

    private TrainerProcess Track(TrainerProcess process)
    {
        _processes.Add(process);
        return process;
    }

    private static string[] Args(string output, string jobId, int epochs, params string[] extra) =>
    [
        "--framework", "pytorch", "--task_type", "classification", "--model_name", "tiny_cnn", "--dataset_path", "generated",
        "--dataset_format", "generated", "--epochs", epochs.ToString(CultureInfo.InvariantCulture), "--batch_size", "16",
        "--learning_rate", "0.001", "--optimizer", "adam", "--output_dir", output, "--job_id", jobId, .. extra,
    ];

    private static (string? Phase, int RestartCount) Phase(string output, int rank) =>
        TrainerProcess.ReadRankFile(output, rank) is { } file
            ? (file.GetProperty("phase").GetString(), file.GetProperty("restart_count").GetInt32())
            : (null, -1);

    private static List<JsonElement> ProgressLines(IEnumerable<string> lines) =>
        [.. lines.Where(l => l.StartsWith("VP_PROGRESS ", StringComparison.Ordinal))
            .Select(l => JsonDocument.Parse(l["VP_PROGRESS ".Length..]).RootElement.Clone())];

    private static JsonElement Metrics(string output) =>
        TrainerProcess.ReadJson(Path.Combine(output, "metrics.json")) ?? throw new FileNotFoundException("no readable metrics.json", Path.Combine(output, "metrics.json"));

    private static List<string> Files(string output) =>
        [.. Directory.EnumerateFiles(output, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(output, f).Replace(Path.DirectorySeparatorChar, '/'))];
}

/// <summary>The torch tests run one after another: each starts up to three torch processes on a 2-core machine.</summary>
[CollectionDefinition(Name)]
public sealed class TorchTrainerCollection
{
    public const string Name = "torch trainer";
}
