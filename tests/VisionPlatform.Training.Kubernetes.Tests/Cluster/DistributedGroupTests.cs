using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using VisionPlatform.Training.TestSupport;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>
/// Distributed jobs on the test cluster with real PyTorch: the executor renders an Indexed Job and its headless Service,
/// the cluster runs each pod's <c>python -m torch.distributed.run</c> as local processes with their own hostnames, and
/// the reference trainer (samples/trainer/train_torch.py) trains DDP over gloo. Holds and gates make each step
/// deterministic: a test waits for a state the trainer reports (its rank files), never for a time.
/// </summary>
[Collection(nameof(TorchGroupCollection))]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DistributedGroupTests : IAsyncLifetime
{
    private readonly DirectoryInfo _gates = Directory.CreateTempSubdirectory("vp-k8s-group-");
    private ClusterHarness _h = null!;

    public async Task InitializeAsync()
    {
        await PyTorchRequirement.EnsureAsync();
        // The demo-trainer harness (the Secret and ConfigMap the Jobs reference), with trainer images run as the torch trainer.
        _h = await WorkloadHarness.StartTorchAsync(backoffLimit: 1, terminationGracePeriod: TimeSpan.FromSeconds(5));
    }

    public async Task DisposeAsync()
    {
        await _h.DisposeAsync();
        _gates.Delete(recursive: true);
    }

    [Fact]
    public async Task Two_nodes_of_one_process_succeed_with_the_same_final_loss_on_every_rank_and_logs_per_rank()
    {
        var gate = Gate("finish");
        var run = await Executor.StartAsync(Group("two-nodes", nodes: 2, processes: 1, epochs: 2, knobs: new() { ["hold_after_epoch"] = 2, ["hold_gate"] = gate }));

        // Both ranks trained both epochs and hold: each node's log is its own rank's.
        await WaitForRanksAsync(r => r.All(f => f.Phase == "held"), "both ranks held after epoch 2", expected: 2);
        var status = await Executor.GetStatusAsync(run);
        status.Phase.Should().Be(TrainingPhase.Running);
        status.Attempt.Should().Be(1, "two pods of one group are one attempt");
        // torchrun copies its workers' stderr into the container's log from files, a little later: wait for the lines.
        var node0 = await Eventually.GetAsync(() => LogAsync(run, new TrainingLogOptions()), l => l.Any(x => x.Contains("holding after epoch 2", StringComparison.Ordinal)), "node 0's log to reach the hold");
        var node1 = await Eventually.GetAsync(() => LogAsync(run, new TrainingLogOptions { NodeRank = 1 }), l => l.Any(x => x.Contains("rank 1: holding after epoch 2", StringComparison.Ordinal)), "node 1's log to reach the hold");
        node0.Should().Contain(l => l.StartsWith("VP_PROGRESS ", StringComparison.Ordinal) && l.Contains("\"epoch\": 2", StringComparison.Ordinal));
        node0.Should().NotContain(l => l.Contains("rank 1:", StringComparison.Ordinal));
        node1.Should().Contain(l => l.Contains("rank 1: Epoch 2/2", StringComparison.Ordinal)).And.NotContain(l => l.StartsWith("VP_PROGRESS", StringComparison.Ordinal));
        var outOfRange = async () => await LogAsync(run, new TrainingLogOptions { NodeRank = 2 });
        (await outOfRange.Should().ThrowAsync<TrainingValidationException>()).Which.Errors.Should().ContainSingle(e => e.Field == "NodeRank");

        // The Service is the Job's: owned by it, headless, selecting its pods.
        var job = (await _h.JobsAsync()).Single();
        var service = await _h.Client.CoreV1.ReadNamespacedServiceAsync(job.Metadata.Name, "training");
        service.Metadata.OwnerReferences.Should().ContainSingle(o => o.Kind == "Job" && o.Uid == job.Metadata.Uid);
        service.Spec.ClusterIP.Should().Be("None");

        await File.WriteAllTextAsync(gate, "go");
        status = await _h.WaitForAsync(run, s => s.IsTerminal, "the group to finish");

        status.Phase.Should().Be(TrainingPhase.Succeeded, status.Message);
        status.ExitCode.Should().Be(0);
        var metrics = Metrics();
        metrics["world_size"]!.GetValue<int>().Should().Be(2);
        metrics["ranks"]!.AsArray().Select(r => r!["rank"]!.GetValue<int>()).Should().Equal(0, 1);
        metrics["ranks"]!.AsArray().Select(r => r!["hostname"]!.GetValue<string>()).Should().BeEquivalentTo([$"{job.Metadata.Name}-0", $"{job.Metadata.Name}-1"]);
        var ranks = RankFiles();
        ranks.Select(r => r.Rank).Should().BeEquivalentTo([0, 1]);
        ranks.Should().AllSatisfy(r => r.FinalLoss.Should().Be(metrics["final"]!["loss"]!.GetValue<double>()));
    }

    [Fact]
    public async Task One_node_of_two_processes_succeeds_with_the_same_final_loss_on_both_ranks()
    {
        var run = await Executor.StartAsync(Group("one-node", nodes: 1, processes: 2, epochs: 2));

        var status = await _h.WaitForAsync(run, s => s.IsTerminal, "the group to finish");

        status.Phase.Should().Be(TrainingPhase.Succeeded, status.Message);
        var metrics = Metrics();
        metrics["world_size"]!.GetValue<int>().Should().Be(2);
        metrics["restart_count"]!.GetValue<int>().Should().Be(0);
        RankFiles().Should().HaveCount(2).And.AllSatisfy(r => r.FinalLoss.Should().Be(metrics["final"]!["loss"]!.GetValue<double>()));
        (await _h.PodsAsync()).Should().ContainSingle("one node is one pod");
    }

    [Fact]
    public async Task A_killed_worker_restarts_the_whole_group_which_resumes_from_the_last_checkpoint()
    {
        var gate = Gate("after-kill");
        var run = await Executor.StartAsync(Group("restart", nodes: 2, processes: 1, epochs: 3, knobs: new() { ["hold_after_epoch"] = 1, ["hold_gate"] = gate }));
        var held = await WaitForRanksAsync(r => r.All(f => f.Phase == "held"), "both ranks held after epoch 1 (its checkpoint written)", expected: 2);

        var victim = held.Single(r => r.Rank == 1);
        Process.GetProcessById(victim.Pid).Kill();

        // Node 1's agent restarts its worker at once (a restart of PET_MAX_RESTARTS = 1); node 0's worker fails at its next
        // collective once released, and its agent restarts too: the new group meets again and resumes after epoch 1.
        await WaitForRanksAsync(r => r.Any(f => f.Rank == 1 && f.Pid != victim.Pid), "rank 1 restarted", expected: 2);
        await File.WriteAllTextAsync(gate, "go");
        var status = await _h.WaitForAsync(run, s => s.IsTerminal, "the restarted group to finish");

        status.Phase.Should().Be(TrainingPhase.Succeeded, status.Message);
        status.Attempt.Should().Be(1, "the group restarted inside its pods; the Job replaced none");
        var metrics = Metrics();
        metrics["restart_count"]!.GetValue<int>().Should().Be(1);
        metrics["resumed_from_epoch"]!.GetValue<int>().Should().Be(1);
        metrics["world_size"]!.GetValue<int>().Should().Be(2);
        metrics["history"]!.AsArray().Select(e => e!["epoch"]!.GetValue<int>()).Should().Equal(1, 2, 3);
        RankFiles().Should().AllSatisfy(r => r.FinalLoss.Should().Be(metrics["final"]!["loss"]!.GetValue<double>()));
    }

    [Fact]
    public async Task With_no_restarts_left_a_killed_worker_fails_the_group_at_its_next_collective_and_no_rank_is_left()
    {
        _h.Options.Job.BackoffLimit = 0;
        using var executor = _h.NewExecutor();
        var gate = Gate("after-kill");
        var run = await executor.StartAsync(Group("no-restarts", nodes: 2, processes: 1, epochs: 3, knobs: new() { ["hold_after_epoch"] = 1, ["hold_gate"] = gate }));
        var held = await WaitForRanksAsync(r => r.All(f => f.Phase == "held"), "both ranks held after epoch 1", expected: 2);

        Process.GetProcessById(held.Single(r => r.Rank == 1).Pid).Kill();
        await WaitForRanksAsync(r => !IsAlive(r.Single(f => f.Rank == 1).Pid), "rank 1's worker to be gone", expected: 2);
        await File.WriteAllTextAsync(gate, "go");

        // Rank 0 fails at its next collective (the peer is gone), not at the gloo timeout (300 s); with no restart left both
        // agents exit 1 and the failure policy fails the Job. The wait is shorter than either of torch's 300 s timeouts.
        var status = await Eventually.GetAsync(() => executor.GetStatusAsync(run), s => s.IsTerminal, "the group to fail", TimeSpan.FromSeconds(120));
        status.Phase.Should().Be(TrainingPhase.Failed, status.Message);
        status.ExitCode.Should().Be(1, "torchrun exits 1 when a worker failed and no restart is left");
        status.Reason.Should().Be("PodFailurePolicy");
        await Eventually.GetAsync(async () => (await _h.PodsAsync()).Where(p => p.Status?.Phase is not ("Succeeded" or "Failed")).ToList(), p => p.Count == 0, "every rank's pod to end");
        await Eventually.GetAsync(() => Task.FromResult(RankFiles().Where(r => IsAlive(r.Pid)).ToList()), p => p.Count == 0, "every rank's process to end");
    }

    [Fact]
    public async Task Stop_removes_every_pod_of_the_group_and_the_service_goes_with_the_job()
    {
        var run = await Executor.StartAsync(Group("stop", nodes: 2, processes: 1, epochs: 3, knobs: new() { ["hold_after_epoch"] = 1, ["hold_gate"] = Gate("never") }));
        var held = await WaitForRanksAsync(r => r.All(f => f.Phase == "held"), "both ranks held after epoch 1", expected: 2);
        (await _h.PodsAsync()).Should().HaveCount(2);

        var status = await Executor.StopAsync(run);

        status.Phase.Should().Be(TrainingPhase.Stopped);
        await Eventually.GetAsync(async () => await _h.PodsAsync(), p => p.Count == 0, "every pod of the group to be removed");
        await Eventually.GetAsync(() => Task.FromResult(held.Where(r => IsAlive(r.Pid)).ToList()), p => p.Count == 0, "every rank's process to end");

        var job = (await _h.JobsAsync()).Single();
        await _h.Client.BatchV1.DeleteNamespacedJobAsync(job.Metadata.Name, "training", new V1DeleteOptions { PropagationPolicy = "Background" });
        await Eventually.GetAsync(async () => (await _h.Client.CoreV1.ListNamespacedServiceAsync("training")).Items.Count, n => n == 0, "the Service to be collected with its Job");
    }

    [Fact]
    public async Task When_the_service_cannot_be_created_the_job_is_taken_back()
    {
        _h.Cluster.Faults.FailNext(1, 403, r => r.Verb == "create" && r.Resource == "services");

        var start = () => Executor.StartAsync(Group("no-service", nodes: 2, processes: 1, epochs: 1));

        await start.Should().ThrowAsync<TrainingException>();
        await Eventually.GetAsync(async () => await _h.JobsAsync(), j => j.Count == 0, "the Job to be deleted again");
    }

    private ITrainingExecutor Executor => _h.Executor;

    private static TrainingJobConfig Group(string jobId, int nodes, int processes, int epochs, Dictionary<string, object>? knobs = null)
    {
        var advanced = new Dictionary<string, object> { ["rank_files"] = true, ["threads"] = 1, ["samples"] = 64 };
        foreach (var (key, value) in knobs ?? [])
        {
            advanced[key] = value;
        }

        return Jobs.Config(jobId, TrainingFramework.PyTorch).Apply(b =>
        {
            b.ModelName = "tiny_cnn";
            b.ImageSize = 16;
            b.NumClasses = 4;
            b.Epochs = epochs;
            b.AdvancedConfig = JsonSerializer.Serialize(advanced);
            b.Resources = new TrainingResources { CpuRequest = "100m", CpuLimit = "1", MemoryRequest = "64Mi", MemoryLimit = "2Gi" };
            b.Distribution = new TrainingDistribution { Nodes = nodes, ProcessesPerNode = processes };
        }).Build();
    }

    private string Gate(string name) => Path.Combine(_gates.FullName, name);

    /// <summary>Every pod's output directory (emptyDir <c>workspace</c>) in the cluster's data directory.</summary>
    private IEnumerable<string> OutputDirectories()
    {
        var pods = Path.Combine(_h.Cluster.Context.DataDirectory, "pods");
        return Directory.Exists(pods)
            ? Directory.EnumerateDirectories(pods).Select(p => Path.Combine(p, "volumes", "workspace", "output")).Where(Directory.Exists)
            : [];
    }

    private JsonNode Metrics() =>
        JsonNode.Parse(File.ReadAllText(OutputDirectories().Select(d => Path.Combine(d, "metrics.json")).Single(File.Exists)))!;

    /// <summary>The newest rank file of each rank (a restarted rank rewrites its own).</summary>
    private List<RankFile> RankFiles()
    {
        var files = new List<RankFile>();
        foreach (var path in OutputDirectories().SelectMany(d => Directory.Exists(Path.Combine(d, "ranks")) ? Directory.EnumerateFiles(Path.Combine(d, "ranks"), "rank_*.json") : []))
        {
            try
            {
                var node = JsonNode.Parse(File.ReadAllText(path))!;
                files.Add(new RankFile(node["rank"]!.GetValue<int>(), node["pid"]!.GetValue<int>(), node["phase"]!.GetValue<string>(), node["final_loss"]?.GetValue<double>()));
            }
            catch (JsonException)
            {
                // Written atomically (temp file and rename); a parse error is a file from a pod being torn down.
            }
        }

        return files;
    }

    private async Task<List<RankFile>> WaitForRanksAsync(Func<List<RankFile>, bool> until, string what, int expected) =>
        await Eventually.GetAsync(() => Task.FromResult(RankFiles()), r => r.Count == expected && until(r), what, TimeSpan.FromSeconds(180));

    private async Task<List<string>> LogAsync(TrainingRun run, TrainingLogOptions options)
    {
        var lines = new List<string>();
        await foreach (var line in Executor.GetLogsAsync(run, options))
        {
            lines.Add(line.Text);
        }

        return lines;
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private sealed record RankFile(int Rank, int Pid, string Phase, double? FinalLoss);
}
