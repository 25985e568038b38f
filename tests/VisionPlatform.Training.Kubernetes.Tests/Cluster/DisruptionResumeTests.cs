using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.S3.Model;
using k8s;
using k8s.Models;
using VisionPlatform.Training.Storage;
using VisionPlatform.Training.Storage.Tests;
using VisionPlatform.Training.TestSupport;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>
/// Preemption and resume on the test cluster: an executor with the S3 artifact store (against s3rver) gives every trainer
/// container <c>TRAINING_CHECKPOINT_URI</c>; the reference trainers upload their checkpoints there; a pod disrupted
/// (<c>DisruptionTarget</c>, ignored by the Job's podFailurePolicy) is replaced with an empty output directory, and the
/// replacement restores the newest checkpoint and trains only the remaining epochs.
/// </summary>
internal sealed class ResumeHarness : IAsyncDisposable
{
    private readonly S3rverFixture _server;
    private readonly S3ArtifactStore _store;

    private ResumeHarness(S3rverFixture server, ClusterHarness cluster, S3ArtifactStore store, KubernetesTrainingExecutor executor)
    {
        _server = server;
        Cluster = cluster;
        _store = store;
        Executor = executor;
    }

    public ClusterHarness Cluster { get; }

    public KubernetesTrainingExecutor Executor { get; }

    public static async Task<ResumeHarness> StartAsync(Func<Task<ClusterHarness>> startCluster)
    {
        var server = new S3rverFixture();
        ClusterHarness? cluster = null;
        try
        {
            await server.InitializeAsync();
            cluster = await startCluster();
            return await ConnectAsync(server, cluster);
        }
        catch
        {
            // Nothing is left running when the set-up fails half way.
            if (cluster is not null)
            {
                await cluster.DisposeAsync();
            }

            await server.DisposeAsync();
            throw;
        }
    }

    private static async Task<ResumeHarness> ConnectAsync(S3rverFixture server, ClusterHarness cluster)
    {

        // The pods reach s3rver on loopback with its credentials (the test cluster's pods share the host's network).
        await cluster.Client.CoreV1.DeleteNamespacedSecretAsync("r2-credentials", "training");
        await cluster.Client.CoreV1.CreateNamespacedSecretAsync(
            new V1Secret
            {
                Metadata = new V1ObjectMeta { Name = "r2-credentials" },
                StringData = new Dictionary<string, string> { ["endpoint"] = server.ServiceUrl, ["access-key"] = S3rverFixture.AccessKey, ["secret-key"] = S3rverFixture.SecretKey },
            },
            "training");
        var store = new S3ArtifactStore(server.Options());
        var executor = new KubernetesTrainingExecutor(new TrainingJobSpecBuilder(cluster.Options, new VisionPlatform.Training.Trainers.FlagTrainerContract(), trainer: null, store));
        return new ResumeHarness(server, cluster, store, executor);
    }

    /// <summary>The epochs of the run's checkpoints in the store whose file names match <paramref name="pattern"/>.</summary>
    public async Task<List<int>> StoredEpochsAsync(string jobId, string pattern)
    {
        var prefix = _store.GetRunPrefix(jobId) + ArtifactLayout.CheckpointsDirectory;
        var listed = await _server.RawClient.ListObjectsV2Async(new ListObjectsV2Request { BucketName = S3rverFixture.Bucket, Prefix = prefix });
        return (listed.S3Objects ?? [])
            .Select(o => System.Text.RegularExpressions.Regex.Match(o.Key[prefix.Length..], pattern))
            .Where(m => m.Success)
            .Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))
            .Order()
            .ToList();
    }

    public string CheckpointUri(string jobId) => ArtifactEnvironment.CheckpointUri(_store, jobId);

    /// <summary>The metrics.json of the run's pod that finished (the disrupted pod's directory holds none).</summary>
    public JsonNode Metrics()
    {
        var pods = Path.Combine(Cluster.Cluster.Context.DataDirectory, "pods");
        var file = Directory.EnumerateDirectories(pods)
            .Select(p => Path.Combine(p, "volumes", "workspace", "output", "metrics.json"))
            .Single(File.Exists);
        return JsonNode.Parse(File.ReadAllText(file))!;
    }

    public async Task<List<string>> LogAsync(TrainingRun run, TrainingLogOptions? options = null)
    {
        var lines = new List<string>();
        await foreach (var line in Executor.GetLogsAsync(run, options ?? new TrainingLogOptions()))
        {
            lines.Add(line.Text);
        }

        return lines;
    }

    public async ValueTask DisposeAsync()
    {
        Executor.Dispose();
        _store.Dispose();
        await Cluster.DisposeAsync();
        await _server.DisposeAsync();
    }
}

public sealed class DisruptedRunResumeTests : IAsyncLifetime
{
    private ResumeHarness _h = null!;

    public async Task InitializeAsync() =>
        _h = await ResumeHarness.StartAsync(() => WorkloadHarness.StartAsync(executor: o => o.Job.TerminationGracePeriod = TimeSpan.FromSeconds(5)));

    public async Task DisposeAsync()
    {
        if (_h is not null)
        {
            await _h.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_disrupted_pod_is_replaced_and_the_replacement_resumes_from_the_stored_checkpoint_with_the_remaining_epochs_only()
    {
        const int epochs = 12;
        var run = await _h.Executor.StartAsync(WorkloadHarness.Trainer("resume-1", """{"epoch_seconds": 0.5}""", epochs).Build());
        var job = (await _h.Cluster.JobsAsync()).Single();
        job.Spec.Template.Spec.Containers[0].Env.Should().ContainSingle(e => e.Name == "TRAINING_CHECKPOINT_URI")
            .Which.Value.Should().Be(_h.CheckpointUri("resume-1")).And.StartWith($"s3://{S3rverFixture.Bucket}/").And.EndWith("/checkpoints/");
        job.Spec.Template.Spec.Containers[0].Env.Single(e => e.Name == "AWS_SECRET_ACCESS_KEY").ValueFrom.SecretKeyRef.Name.Should().Be("r2-credentials", "the credentials stay in the Secret");

        // Disrupt the pod once at least epoch 1's checkpoint is in the store, as a preemption would.
        var stored = await Eventually.GetAsync(() => _h.StoredEpochsAsync("resume-1", @"^checkpoint_epoch_(\d+)\.json$"), e => e.Count >= 1, "epoch 1's checkpoint to be uploaded", TimeSpan.FromSeconds(120));
        var first = (await _h.Cluster.PodsAsync()).Single();
        _h.Cluster.Faults().DisruptPod("training", first.Metadata.Name).Should().BeTrue();

        var status = await _h.Cluster.WaitForAsync(run, s => s.IsTerminal, "the replacement pod to finish", TimeSpan.FromSeconds(180));

        status.Phase.Should().Be(TrainingPhase.Succeeded, status.Message);
        status.Attempt.Should().Be(1, "a disruption does not count as an attempt");
        var finished = (await _h.Cluster.JobsAsync()).Single();
        finished.Status.Failed.Should().BeNull("the disruption matched the Ignore rule");
        var pods = await _h.Cluster.PodsAsync();
        pods.Should().ContainSingle().Which.Metadata.Uid.Should().NotBe(first.Metadata.Uid, "the disrupted pod was replaced");

        var metrics = _h.Metrics();
        var resumedFrom = metrics["resumed_from_epoch"]!.GetValue<int>();
        resumedFrom.Should().BeGreaterThanOrEqualTo(stored.Max()).And.BeLessThan(epochs);
        metrics["epochs_trained"]!.AsArray().Select(e => e!.GetValue<int>()).Should().Equal(Enumerable.Range(resumedFrom + 1, epochs - resumedFrom), "only the remaining epochs were trained");
        metrics["history"]!.AsArray().Select(e => e!["epoch"]!.GetValue<int>()).Should().Equal(Enumerable.Range(1, epochs));
        var log = await _h.LogAsync(run);
        log.Should().Contain(l => l.Contains($"resumed after epoch {resumedFrom}", StringComparison.Ordinal))
            .And.NotContain(l => l.StartsWith($"Epoch {resumedFrom}/", StringComparison.Ordinal), "the replacement starts after the restored epoch");
        (await _h.StoredEpochsAsync("resume-1", @"^checkpoint_epoch_(\d+)\.json$")).Should().Equal(Enumerable.Range(1, epochs));
    }
}

[Collection(nameof(TorchGroupCollection))]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DisruptedGroupResumeTests : IAsyncLifetime
{
    private ResumeHarness _h = null!;

    public async Task InitializeAsync()
    {
        await PyTorchRequirement.EnsureAsync();
        _h = await ResumeHarness.StartAsync(() => WorkloadHarness.StartTorchAsync(backoffLimit: 2, terminationGracePeriod: TimeSpan.FromSeconds(5)));
    }

    public async Task DisposeAsync()
    {
        if (_h is not null)
        {
            await _h.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_disrupted_torchrun_group_is_replaced_and_resumes_from_the_checkpoint_rank_0_restores_and_broadcasts()
    {
        const int epochs = 6;
        var config = Jobs.Config("resume-group", TrainingFramework.PyTorch).Apply(b =>
        {
            b.ModelName = "tiny_cnn";
            b.ImageSize = 16;
            b.NumClasses = 4;
            b.Epochs = epochs;
            b.AdvancedConfig = """{"threads": 1, "samples": 64, "epoch_seconds": 1}""";
            b.Resources = new TrainingResources { CpuRequest = "100m", CpuLimit = "1", MemoryRequest = "64Mi", MemoryLimit = "2Gi" };
            // One node of two processes: a disrupted pod takes the whole group (and the rendezvous store) with it. Two
            // nodes do not survive the disruption of node 0 (docs/kubernetes.md, "Preemption and resume": limits).
            b.Distribution = new TrainingDistribution { Nodes = 1, ProcessesPerNode = 2 };
        }).Build();
        var run = await _h.Executor.StartAsync(config);

        var stored = await Eventually.GetAsync(() => _h.StoredEpochsAsync("resume-group", @"^epoch_(\d+)\.pt$"), e => e.Count >= 1, "epoch 1's checkpoint to be uploaded by rank 0", TimeSpan.FromSeconds(180));
        var first = (await _h.Cluster.PodsAsync()).Single();
        _h.Cluster.Faults().DisruptPod("training", first.Metadata.Name).Should().BeTrue();

        var status = await _h.Cluster.WaitForAsync(run, s => s.IsTerminal, "the group to finish after the disruption", TimeSpan.FromSeconds(300));

        status.Phase.Should().Be(TrainingPhase.Succeeded, status.Message);
        status.Attempt.Should().Be(1, "a disruption does not count as an attempt");
        (await _h.Cluster.JobsAsync()).Single().Status.Failed.Should().BeNull("the disruption matched the Ignore rule");
        (await _h.Cluster.PodsAsync()).Should().ContainSingle().Which.Metadata.Uid.Should().NotBe(first.Metadata.Uid, "the disrupted pod was replaced");
        var metrics = _h.Metrics();
        var resumedFrom = metrics["resumed_from_epoch"]!.GetValue<int>();
        resumedFrom.Should().BeGreaterThanOrEqualTo(stored.Max()).And.BeLessThan(epochs);
        metrics["world_size"]!.GetValue<int>().Should().Be(2);
        metrics["history"]!.AsArray().Select(e => e!["epoch"]!.GetValue<int>()).Should().Equal(Enumerable.Range(1, epochs));
        var log = await _h.LogAsync(run);
        log.Where(l => l.Contains("checkpoint sync: restored epoch_", StringComparison.Ordinal)).Should().ContainSingle("only rank 0 restores; it broadcasts the state")
            .Which.Should().Contain($"epoch_{resumedFrom}.pt");
        log.Should().Contain(l => l.Contains($"resuming from", StringComparison.Ordinal) && l.Contains($"at epoch {resumedFrom + 1}", StringComparison.Ordinal));
        log.Should().NotContain(l => l.Contains("Epoch 1/", StringComparison.Ordinal), "no rank of the replacement trained from scratch");
        metrics["epochs_completed"]!.GetValue<int>().Should().Be(epochs);
    }
}

/// <summary>
/// A torchrun group of two nodes (two pods, one process each) survives the disruption of either pod: the group supervisor
/// in front of torchrun makes every pod leave (the disrupted one with its DisruptionTarget condition, the others with
/// exit code 75), the podFailurePolicy ignores both, the Job controller replaces every pod, and the new group's rank 0
/// restores the newest checkpoint from the artifact store. Both ranks are held after epoch 1 (its checkpoint stored) when
/// the pod is disrupted, so every step is an observed state, never a time.
/// </summary>
[Collection(nameof(TorchGroupCollection))]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DisruptedMultiNodeGroupResumeTests : IAsyncLifetime
{
    private const int Epochs = 3;
    private readonly DirectoryInfo _gates = Directory.CreateTempSubdirectory("vp-k8s-group-restart-");
    private ResumeHarness _h = null!;

    public async Task InitializeAsync()
    {
        await PyTorchRequirement.EnsureAsync();
        // No restart inside the pods: a group that failed on its own would fail the Job at once.
        _h = await ResumeHarness.StartAsync(() => WorkloadHarness.StartTorchAsync(backoffLimit: 0, terminationGracePeriod: TimeSpan.FromSeconds(8)));
    }

    public async Task DisposeAsync()
    {
        if (_h is not null)
        {
            await _h.DisposeAsync();
        }

        _gates.Delete(recursive: true);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task A_disrupted_pod_of_a_two_node_group_restarts_the_whole_group_which_resumes_from_the_stored_checkpoint(int disruptedRank)
    {
        var jobId = $"group-restart-{disruptedRank}";
        var gate = Path.Combine(_gates.FullName, "release");
        var run = await _h.Executor.StartAsync(Config(jobId, gate));
        var job = (await _h.Cluster.JobsAsync()).Single();
        job.Spec.PodFailurePolicy.Rules[1].OnExitCodes.Values.Should().Equal([DistributionStep.GroupRestartExitCode], "the group's restart exit code is ignored");

        await Eventually.GetAsync(() => Task.FromResult(RankFiles()), r => r.Count == 2 && r.All(f => f.Phase == "held"), "both ranks held after epoch 1", TimeSpan.FromSeconds(180));
        await Eventually.GetAsync(() => _h.StoredEpochsAsync(jobId, @"^epoch_(\d+)\.pt$"), e => e.Contains(1), "epoch 1's checkpoint to be uploaded by rank 0", TimeSpan.FromSeconds(60));
        var first = await _h.Cluster.PodsAsync();
        first.Should().HaveCount(2);
        var victim = first.Single(p => p.Metadata.Labels[DistributionStep.CompletionIndexKey] == disruptedRank.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var peer = first.Single(p => p != victim);
        _h.Cluster.Faults().DisruptPod("training", victim.Metadata.Name).Should().BeTrue();

        // The peer's pod leaves with the group-restart exit code; the run never fails while the group is replaced.
        var left = await Eventually.GetAsync(
            () => _h.Cluster.Client.CoreV1.ReadNamespacedPodAsync(peer.Metadata.Name, "training"),
            p => p.Status.Phase == "Failed", "the peer's pod to leave for the group restart", TimeSpan.FromSeconds(60));
        left.Status.ContainerStatuses.Single().State.Terminated.ExitCode.Should().Be(DistributionStep.GroupRestartExitCode);
        var restarting = await _h.Executor.GetStatusAsync(run);
        restarting.Phase.Should().NotBe(TrainingPhase.Failed, restarting.Message);
        // A new pod for every node (the new group does not hold: the indexes are collected as they appear).
        var replacedIndexes = new HashSet<string>();
        await Eventually.GetAsync(
            async () =>
            {
                foreach (var pod in (await _h.Cluster.PodsAsync()).Where(p => first.All(f => f.Metadata.Uid != p.Metadata.Uid)))
                {
                    replacedIndexes.Add(pod.Metadata.Labels[DistributionStep.CompletionIndexKey]);
                }

                return replacedIndexes.Count;
            },
            n => n == 2, "a new pod for every node of the group", TimeSpan.FromSeconds(60));
        await File.WriteAllTextAsync(gate, "go");

        var status = await _h.Cluster.WaitForAsync(run, s => s.IsTerminal, "the new group to finish", TimeSpan.FromSeconds(300));

        status.Phase.Should().Be(TrainingPhase.Succeeded, status.Message);
        status.Attempt.Should().Be(1, "neither the disruption nor the group restart counts as an attempt");
        (await _h.Cluster.JobsAsync()).Single().Status.Failed.Should().BeNull("the disruption and the restart exit code matched the Ignore rules: the failure budget is unused");
        var metrics = _h.Metrics();
        metrics["resumed_from_epoch"]!.GetValue<int>().Should().Be(1, "rank 0 of the new group restored epoch 1's checkpoint");
        metrics["restart_count"]!.GetValue<int>().Should().Be(0, "the new group formed from scratch");
        metrics["world_size"]!.GetValue<int>().Should().Be(2);
        metrics["history"]!.AsArray().Select(e => e!["epoch"]!.GetValue<int>()).Should().Equal(Enumerable.Range(1, Epochs));
        var log = await _h.LogAsync(run);
        log.Where(l => l.Contains("checkpoint sync: restored epoch_", StringComparison.Ordinal)).Should().ContainSingle().Which.Should().Contain("epoch_1.pt");
        log.Should().NotContain(l => l.Contains("Epoch 1/", StringComparison.Ordinal), "the new group trained only the remaining epochs");

        // The peer's log says why its pod left (attempt 1: its pod is still listed; the new pod of that rank may already
        // be gone: the Job controller removes the other ranks once rank 0 succeeded).
        var peerRank = 1 - disruptedRank;
        var peerLog = new List<TrainingLogLine>();
        await foreach (var line in _h.Executor.GetLogsAsync(run, new TrainingLogOptions { NodeRank = peerRank, AllAttempts = true }))
        {
            peerLog.Add(line);
        }

        peerLog.Should().Contain(l => l.Attempt == 1 && l.Text.Contains($"group supervisor (node {peerRank}):", StringComparison.Ordinal) && l.Text.Contains("whole group", StringComparison.Ordinal));
    }

    private static TrainingJobConfig Config(string jobId, string gate) => Jobs.Config(jobId, TrainingFramework.PyTorch).Apply(b =>
    {
        b.ModelName = "tiny_cnn";
        b.ImageSize = 16;
        b.NumClasses = 4;
        b.Epochs = Epochs;
        b.AdvancedConfig = JsonSerializer.Serialize(new Dictionary<string, object> { ["threads"] = 1, ["samples"] = 64, ["rank_files"] = true, ["hold_after_epoch"] = 1, ["hold_gate"] = gate });
        b.Resources = new TrainingResources { CpuRequest = "100m", CpuLimit = "1", MemoryRequest = "64Mi", MemoryLimit = "2Gi" };
        b.Distribution = new TrainingDistribution { Nodes = 2, ProcessesPerNode = 1 };
    }).Build();

    /// <summary>The rank files in every pod's output directory (read before any pod is replaced).</summary>
    private List<(int Rank, string Phase)> RankFiles()
    {
        var pods = Path.Combine(_h.Cluster.Cluster.Context.DataDirectory, "pods");
        var files = new List<(int, string)>();
        if (!Directory.Exists(pods))
        {
            return files;
        }

        foreach (var path in Directory.EnumerateDirectories(pods).Select(p => Path.Combine(p, "volumes", "workspace", "output", "ranks")).Where(Directory.Exists).SelectMany(d => Directory.EnumerateFiles(d, "rank_*.json")))
        {
            try
            {
                var node = JsonNode.Parse(File.ReadAllText(path))!;
                files.Add((node["rank"]!.GetValue<int>(), node["phase"]!.GetValue<string>()));
            }
            catch (JsonException)
            {
                // Written atomically (temp file and rename); a parse error is a file from a pod being torn down.
            }
        }

        return files;
    }
}
