using System.Text.Json;
using VisionPlatform.Training.TestSupport;

namespace VisionPlatform.Training.QuickStart.Tests;

/// <summary>
/// <c>--nodes</c>, <c>--procs-per-node</c> and <c>--framework pytorch</c>: a real two-process PyTorch run on this machine
/// under torchrun, what a dry run would launch, and the refusals (several nodes on subprocess, more processes than GPUs).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DistributedFlagsTests : IDisposable
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("vp-quickstart-dist-tests-");

    public void Dispose() => _work.Delete(recursive: true);

    [Fact]
    public async Task Pytorch_with_two_processes_per_node_trains_one_ddp_group_with_the_real_trainer()
    {
        await PyTorchRequirement.EnsureAsync();
        var runs = Path.Combine(_work.FullName, "runs");

        var result = await QuickStartProcess.RunAsync(
            ["--framework", "pytorch", "--nodes", "1", "--procs-per-node", "2", "--epochs", "2", "--output-dir", runs],
            timeout: TimeSpan.FromMinutes(4));

        result.ExitCode.Should().Be(0, result.ToString());
        result.Error.Should().BeEmpty(result.ToString());
        var lines = result.Output.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        lines.Should().Contain(l => l.StartsWith("[####################] epoch 2/2  loss ", StringComparison.Ordinal), result.ToString());
        lines.Should().Contain(l => l.StartsWith("  | [default1]:rank 1: training finished: 2 epochs", StringComparison.Ordinal), "torchrun's prefixed worker lines are the run's log");
        lines.Should().Contain(l => l.StartsWith("status: Succeeded (Completed, exit code 0) after ", StringComparison.Ordinal));
        using var metrics = JsonDocument.Parse(File.ReadAllText(Directory.EnumerateFiles(runs, "metrics.json", SearchOption.AllDirectories).Single()));
        metrics.RootElement.GetProperty("world_size").GetInt32().Should().Be(2);
        metrics.RootElement.GetProperty("ranks").GetArrayLength().Should().Be(2);
    }

    [Fact]
    public async Task A_pytorch_dry_run_shows_torchrun_starting_the_reference_trainer()
    {
        var result = await QuickStartProcess.RunAsync(
            ["--framework", "pytorch", "--procs-per-node", "2", "--dry-run", "--output-dir", Path.Combine(_work.FullName, "runs")]);

        result.ExitCode.Should().Be(0, result.ToString());
        var arguments = result.Output.Split('\n').Select(l => l.Trim()).ToList();
        arguments.Should().ContainInOrder("-m", "torch.distributed.run", "--nproc_per_node", "2");
        arguments.Should().Contain(a => a.EndsWith("samples/trainer/train_torch.py", StringComparison.Ordinal));
        arguments.Should().ContainInOrder("--model_name", "tiny_cnn", "--dataset_path", "synthetic");
    }

    [Fact]
    public async Task A_kubernetes_dry_run_of_two_nodes_renders_the_indexed_job_then_its_headless_service()
    {
        var result = await QuickStartProcess.RunAsync(["--executor", "kubernetes", "--dry-run", "--framework", "pytorch", "--nodes", "2", "--gpus", "2"]);

        result.ExitCode.Should().Be(0, result.ToString());
        var documents = result.Output.Split("\n---\n");
        documents.Should().HaveCount(2, result.Output);
        documents[0].Should().StartWith("apiVersion: batch/v1\nkind: Job\n")
            .And.Contain("completionMode: Indexed").And.Contain("completions: 2").And.Contain("parallelism: 2")
            .And.Contain("- torch.distributed.run").And.Contain("name: PET_NNODES").And.Contain("name: PET_NODE_RANK");
        documents[1].Should().StartWith("apiVersion: v1\nkind: Service\n").And.Contain("clusterIP: None").And.Contain("publishNotReadyAddresses: true");
    }

    [Theory]
    [InlineData("--executor", "subprocess")]
    [InlineData("--dry-run", null)]
    public async Task Several_nodes_on_subprocess_are_exit_2_with_one_line_naming_the_flag_and_the_rule(string flag, string? value)
    {
        string[] extra = value is null ? [flag] : [flag, value];

        var result = await QuickStartProcess.RunAsync(["--framework", "pytorch", "--nodes", "2", .. extra, "--output-dir", Path.Combine(_work.FullName, "runs")]);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Output.Should().BeEmpty();
        result.ErrorLines.Should().Equal(
            "--nodes: 2: the subprocess executor runs a job on one machine, so --nodes must be 1; use --executor kubernetes for a multi-node job");
        Directory.Exists(Path.Combine(_work.FullName, "runs")).Should().BeFalse("nothing was created");
    }

    [Fact]
    public async Task Several_nodes_with_the_cluster_down_are_never_run_on_the_subprocess_fallback()
    {
        var kubeconfig = QuickStartProcess.WriteUnreachableKubeconfig(_work);
        var runs = Path.Combine(_work.FullName, "runs");

        var result = await QuickStartProcess.RunAsync(
            ["--executor", "kubernetes", "--framework", "pytorch", "--nodes", "2", "--output-dir", runs],
            new Dictionary<string, string> { ["KUBECONFIG"] = kubeconfig, ["Training__Availability__ProbeTimeout"] = "00:00:30" });

        result.ExitCode.Should().Be(3, result.ToString());
        result.Output.Should().BeEmpty();
        var line = result.ErrorLines.Should().ContainSingle(result.ToString()).Subject;
        line.Should().StartWith("error: no executor can take the job: ").And.Contain("does not fit fallback 'subprocess': Distribution.Nodes is 2");
        (Directory.Exists(runs) ? Directory.EnumerateDirectories(runs) : []).Should().BeEmpty("nothing ran as a smaller group");
    }

    [Fact]
    public async Task More_processes_per_node_than_gpus_is_exit_2_naming_the_flag()
    {
        var result = await QuickStartProcess.RunAsync(["--framework", "pytorch", "--gpus", "1", "--procs-per-node", "2", "--dry-run"]);

        result.ExitCode.Should().Be(2, result.ToString());
        result.ErrorLines.Should().ContainSingle().Which.Should().StartWith("--procs-per-node").And.Contain("Resources.Gpus (1)");
    }

    [Fact]
    public async Task Help_lists_the_distribution_flags()
    {
        var result = await QuickStartProcess.RunAsync(["--help"]);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Output.Should().Contain("--nodes").And.Contain("--procs-per-node").And.Contain("train_torch.py");
    }
}
