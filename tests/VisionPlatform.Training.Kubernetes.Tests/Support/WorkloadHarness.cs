using System.Runtime.CompilerServices;
using k8s;
using k8s.Models;
using VisionPlatform.Training.Kubernetes.TestCluster;
using VisionPlatform.Training.Kubernetes.TestCluster.Scheduling;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;
using VisionPlatform.Training.TestSupport;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>
/// A test cluster whose node agent runs every <c>trainer-*</c> image as the demo trainer (samples/trainer/train.py),
/// with the Secret and ConfigMap the Jobs reference, and optionally a GPU node.
/// </summary>
internal static class WorkloadHarness
{
    public const string StorageSecret = "s3-secret-value-never-in-spec";

    public static string TrainScript { get; } = FindTrainScript();

    /// <summary>The PyTorch reference trainer, next to the demo trainer.</summary>
    public static string TorchScript { get; } = Path.Combine(Path.GetDirectoryName(TrainScript)!, "train_torch.py");

    /// <summary>
    /// The harness with every <c>trainer-*</c> image run as the PyTorch reference trainer (train_torch.py) under real torch,
    /// and the group's rendezvous and control ports reserved for this test run: the test cluster's pods share the host's
    /// ports.
    /// </summary>
    /// <param name="backoffLimit">Job:BackoffLimit (torchrun's restarts inside the pods of a group).</param>
    /// <param name="terminationGracePeriod">Job:TerminationGracePeriod.</param>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public static Task<ClusterHarness> StartTorchAsync(int backoffLimit, TimeSpan terminationGracePeriod) => StartAsync(
        c => c.Workloads.ImageResolver = image => image.Contains("/trainer-", StringComparison.Ordinal)
            ? ImageMapping.PythonTrainer(TorchScript, PyTorchRequirement.Interpreter)
            : null,
        o =>
        {
            o.Job.RendezvousPort = TestPorts.Reserve();
            o.Job.GroupControlPort = TestPorts.Reserve();
            o.Job.BackoffLimit = backoffLimit;
            o.Job.TerminationGracePeriod = terminationGracePeriod;
        });

    public static async Task<ClusterHarness> StartAsync(
        Action<KubernetesTestClusterOptions>? cluster = null,
        Action<KubernetesExecutorOptions>? executor = null,
        int gpuNodes = 0)
    {
        var h = await ClusterHarness.StartAsync(
            c =>
            {
                c.Workloads.ImageResolver = image => image.Contains("/trainer-", StringComparison.Ordinal) || image.StartsWith("trainer-", StringComparison.Ordinal)
                    ? ImageMapping.PythonTrainer(TrainScript)
                    : null;
                for (var i = 0; i < gpuNodes; i++)
                {
                    c.Workloads.Nodes.Add(SimulatedNode.Gpu($"gpu-{i + 1}", gpus: 2));
                }

                cluster?.Invoke(c);
            },
            executor);
        await h.Client.CoreV1.CreateNamespacedSecretAsync(
            new V1Secret
            {
                Metadata = new V1ObjectMeta { Name = "r2-credentials" },
                StringData = new Dictionary<string, string> { ["endpoint"] = "http://127.0.0.1:9", ["access-key"] = "ak", ["secret-key"] = StorageSecret },
            },
            "training");
        await h.Client.CoreV1.CreateNamespacedConfigMapAsync(
            new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "backend-config" }, Data = new Dictionary<string, string> { ["api-url"] = "http://127.0.0.1:9" } },
            "training");
        return h;
    }

    public static WorkloadFaults Faults(this ClusterHarness h) => h.Cluster.Workloads;

    /// <summary>A quick demo-trainer job: a few short epochs, knobs passed through advanced_config.</summary>
    public static TrainingJobConfigBuilder Trainer(string jobId, string knobs = """{"epoch_seconds": 0.2}""", int epochs = 3) =>
        Jobs.Config(jobId).Apply(b =>
        {
            b.Epochs = epochs;
            b.AdvancedConfig = knobs;
            b.Resources = new TrainingResources { CpuRequest = "100m", CpuLimit = "1", MemoryRequest = "64Mi", MemoryLimit = "1Gi" };
        });

    public static async Task<TrainingRunStatus> WaitForAsync(this ClusterHarness h, TrainingRun run, Func<TrainingRunStatus, bool> until, string what, TimeSpan? timeout = null) =>
        await Eventually.GetAsync(() => h.Executor.GetStatusAsync(run), until, what, timeout ?? TimeSpan.FromSeconds(90));

    private static string FindTrainScript([CallerFilePath] string here = "")
    {
        var directory = new DirectoryInfo(Path.GetDirectoryName(here)!);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "samples", "trainer", "train.py")))
        {
            directory = directory.Parent;
        }

        return directory is null
            ? throw new InvalidOperationException("samples/trainer/train.py not found above the test sources")
            : Path.Combine(directory.FullName, "samples", "trainer", "train.py");
    }
}
