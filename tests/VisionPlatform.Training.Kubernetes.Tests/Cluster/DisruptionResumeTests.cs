using System.Text.Json.Nodes;
using Amazon.S3.Model;
using k8s;
using k8s.Models;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;
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
        _h = await ResumeHarness.StartAsync(() => WorkloadHarness.StartAsync(
            c => c.Workloads.ImageResolver = image => image.Contains("/trainer-", StringComparison.Ordinal)
                ? ImageMapping.PythonTrainer(DistributedGroupTests.TorchScript, PyTorchRequirement.Interpreter)
                : null,
            o =>
            {
                o.Job.RendezvousPort = TestPorts.Reserve();
                o.Job.BackoffLimit = 2;
                o.Job.TerminationGracePeriod = TimeSpan.FromSeconds(5);
            }));
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
