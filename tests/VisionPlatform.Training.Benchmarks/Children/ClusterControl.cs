using System.Globalization;
using System.Text.Json;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using VisionPlatform.Training.Benchmarks.Runtime;
using VisionPlatform.Training.Benchmarks.Scenarios;
using VisionPlatform.Training.Kubernetes;
using VisionPlatform.Training.Kubernetes.TestCluster;
using VisionPlatform.Training.Kubernetes.TestCluster.Scheduling;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Benchmarks.Children;

/// <summary>Which test cluster a scenario needs.</summary>
internal enum ClusterProfile
{
    /// <summary>API server only (submit, memory, concurrent starts).</summary>
    Api,

    /// <summary>API server, Job controller, scheduler and node agent running the simulated trainer image (monitor).</summary>
    Workload,

    /// <summary>The <see cref="Workload"/> profile plus the Kueue controller (queue); the queues are the scenario's to create.</summary>
    Queue,
}

/// <summary>
/// The test cluster a scenario drives, plus what the scenario reads from its store without HTTP (commit times, Job
/// counts, populating 10,000 runs). Lives in the benchmark's process (<c>--inproc 1</c>) or in a child process
/// (<c>__cluster</c>, the default); either way the scenario talks to it through <see cref="HandleAsync"/> commands.
/// </summary>
internal sealed class ClusterControl : IAsyncDisposable
{
    public const string Namespace = "training";
    public const string RunMillisecondsVariable = "VP_SIM_RUN_MS";
    public const string ExitCodeVariable = "VP_SIM_EXIT_CODE";

    private const int NodeCount = 4;
    private const int PodsPerNode = 300;
    private static readonly TimeSpan ReconcileInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>The trainer image: each container runs for VP_SIM_RUN_MS and exits with VP_SIM_EXIT_CODE, without a process.</summary>
    private static readonly ImageMapping SimulatedTrainer = ImageMapping.Simulated(start => new SimulatedRun(
        TimeSpan.FromMilliseconds(int.Parse(start.Environment[RunMillisecondsVariable], CultureInfo.InvariantCulture)),
        int.Parse(start.Environment[ExitCodeVariable], CultureInfo.InvariantCulture))
    {
        Output = ["simulated trainer started"],
    });

    private readonly KubernetesTestCluster _cluster;
    private MonitorChangeClock? _clock;
    private QueueAdmissionClock? _admissions;
    private RuntimeCounterSampler? _counters;

    private ClusterControl(KubernetesTestCluster cluster) => _cluster = cluster;

    public Uri Url => _cluster.Url;

    public static async Task<ClusterControl> StartAsync(ClusterProfile profile, int watchHistory, CancellationToken cancellationToken)
    {
        var options = new KubernetesTestClusterOptions();
        options.Namespaces.Add(Namespace);
        options.WatchHistorySize = Math.Max(options.WatchHistorySize, watchHistory);
        options.Components.Clear();
        if (profile is ClusterProfile.Workload or ClusterProfile.Queue)
        {
            options.Workloads.Nodes.Clear();
            for (var i = 1; i <= NodeCount; i++)
            {
                var node = new SimulatedNode($"node-{i}", cpu: "64", memory: "256Gi");
                node.Allocatable["pods"] = PodsPerNode.ToString(CultureInfo.InvariantCulture);
                options.Workloads.Nodes.Add(node);
            }

            options.Workloads.ImageResolver = _ => SimulatedTrainer;

            // nothing is deleted here, so the garbage collector and the TTL controller would only add passes over 2,000
            // objects; the others batch changes into at most two passes a second (see WorkloadOptions.MinReconcileInterval)
            options.Components.Add(() => new Kubernetes.TestCluster.Controllers.JobController());
            options.Components.Add(() => new Scheduler());
            options.Components.Add(() => new Kubernetes.TestCluster.Nodes.NodeAgent());
            options.Workloads.MinReconcileInterval = ReconcileInterval;
            if (profile == ClusterProfile.Queue)
            {
                // Kueue's job reconciler and scheduler: Workloads for queued Jobs, admission by quota, unsuspending
                options.Components.Add(() => new Kubernetes.TestCluster.Kueue.KueueController());
            }
        }

        var cluster = await KubernetesTestCluster.StartAsync(options, cancellationToken).ConfigureAwait(false);
        try
        {
            await CreateReferencedObjectsAsync(cluster, cancellationToken).ConfigureAwait(false);
            return new ClusterControl(cluster);
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>One command line in, one answer line out (see the cases).</summary>
    public async Task<string> HandleAsync(string line, CancellationToken cancellationToken)
    {
        var parts = line.Split(' ', 2);
        var argument = parts.Length > 1 ? parts[1] : string.Empty;
        switch (parts[0])
        {
            case "clock-start":
                // commit times of the writes that imply each run's phases, from now on
                if (_clock is not null)
                {
                    await _clock.DisposeAsync().ConfigureAwait(false);
                }

                _clock = new MonitorChangeClock(_cluster.Store, Namespace);
                return "ok";
            case "clock":
                return JsonSerializer.Serialize((_clock ?? throw new InvalidOperationException("clock-start first")).Snapshot());
            case "admissions-start":
                // commit times of each queued run's Workload admission and Job unsuspend, from now on
                if (_admissions is not null)
                {
                    await _admissions.DisposeAsync().ConfigureAwait(false);
                }

                _admissions = new QueueAdmissionClock(_cluster.Store, Namespace);
                return "ok";
            case "admissions":
                return JsonSerializer.Serialize((_admissions ?? throw new InvalidOperationException("admissions-start first")).Snapshot());
            case "counters-start":
                _counters?.Dispose();
                _counters = new RuntimeCounterSampler();
                return "ok";
            case "counters":
                _counters?.Dispose();
                var samples = _counters?.Samples ?? [];
                _counters = null;
                return JsonSerializer.Serialize(samples);
            case "populate":
                return Populate(int.Parse(argument, CultureInfo.InvariantCulture)).ToString("0.0", CultureInfo.InvariantCulture);
            case "jobs":
                return JsonSerializer.Serialize(CountJobs());
            case "has-job":
                return _cluster.Store.List(ResourceType.Jobs, Namespace, j => JobIdOf(j) == argument).Items.Count > 0 ? "1" : "0";
            case "requests":
                return _cluster.Requests.Count.ToString(CultureInfo.InvariantCulture);
            case "requests-clear":
                _cluster.Requests.Clear();
                return "ok";
            default:
                throw new InvalidOperationException($"unknown command '{parts[0]}'");
        }
    }

    public async ValueTask DisposeAsync()
    {
        _counters?.Dispose();
        if (_clock is not null)
        {
            await _clock.DisposeAsync().ConfigureAwait(false);
        }

        if (_admissions is not null)
        {
            await _admissions.DisposeAsync().ConfigureAwait(false);
        }

        await _cluster.DisposeAsync().ConfigureAwait(false);
    }

    private static string? JobIdOf(System.Text.Json.Nodes.JsonObject job) =>
        job["metadata"]?["annotations"]?[KubernetesLabels.JobIdAnnotation]?.GetValue<string>();

    /// <summary>Jobs in the namespace, distinct job ids among them, and job ids that have more than one Job.</summary>
    private JobCount CountJobs()
    {
        var ids = _cluster.Store.List(ResourceType.Jobs, Namespace).Items.Select(JobIdOf).ToList();
        var duplicated = ids.GroupBy(id => id ?? string.Empty, StringComparer.Ordinal).Count(g => g.Count() > 1);
        return new JobCount(ids.Count, ids.Distinct(StringComparer.Ordinal).Count(), duplicated);
    }

    /// <summary>Writes <paramref name="count"/> running runs (Job + Running pod) straight into the store; returns seconds taken.</summary>
    private double Populate(int count)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddTrainingExecutors(o => o.DefaultExecutor = KubernetesExecutorInfo.ExecutorName).AddKubernetes(o => o.Namespace = Namespace);
        using (var provider = services.BuildServiceProvider())
        {
            MonitorTrackedRuns.Populate(_cluster.Store, provider.GetRequiredService<TrainingJobSpecBuilder>(), Namespace, count, DateTimeOffset.UtcNow);
        }

        // The store keeps the Jobs as parsed JSON whose label maps are only built when first read: build them now, not
        // during the monitor's list (in-process that would be charged to the SDK's memory figure)
        _ = _cluster.Store.List(ResourceType.Jobs, Namespace, j => j["metadata"]?["labels"] is System.Text.Json.Nodes.JsonObject { Count: > 0 });
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>The Secret and ConfigMap the default Job spec references (the node agent waits for them otherwise).</summary>
    private static async Task CreateReferencedObjectsAsync(KubernetesTestCluster cluster, CancellationToken cancellationToken)
    {
        using var client = cluster.CreateClient();
        await client.CoreV1.CreateNamespacedSecretAsync(
            new V1Secret
            {
                Metadata = new V1ObjectMeta { Name = "r2-credentials" },
                StringData = new Dictionary<string, string> { ["endpoint"] = "http://127.0.0.1:9", ["access-key"] = "ak", ["secret-key"] = "sk" },
            },
            Namespace,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        await client.CoreV1.CreateNamespacedConfigMapAsync(
            new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "backend-config" }, Data = new Dictionary<string, string> { ["api-url"] = "http://127.0.0.1:9" } },
            Namespace,
            cancellationToken: cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>Jobs in the namespace, distinct job ids among them, and how many job ids have more than one Job.</summary>
internal sealed record JobCount(int Total, int Distinct, int Duplicated);

/// <summary>A scenario's handle on its test cluster, wherever it runs.</summary>
internal sealed class BenchCluster : IAsyncDisposable
{
    private readonly ClusterControl? _local;
    private readonly ChildProcess? _child;

    private BenchCluster(Uri url, ClusterControl? local, ChildProcess? child)
    {
        Url = url;
        _local = local;
        _child = child;
    }

    public Uri Url { get; }

    /// <summary>True when the cluster runs in a child process (the SDK's process holds only the SDK).</summary>
    public bool OutOfProcess => _child is not null;

    public string Where => OutOfProcess ? $"child process {_child!.Id}" : "this process";

    public static async Task<BenchCluster> StartAsync(ClusterProfile profile, bool outOfProcess, int watchHistory, CancellationToken cancellationToken)
    {
        if (!outOfProcess)
        {
            var local = await ClusterControl.StartAsync(profile, watchHistory, cancellationToken).ConfigureAwait(false);
            return new BenchCluster(local.Url, local, null);
        }

        // Server GC for the test cluster's process: its controllers allocate some 60 MB/s over the store's JSON and, with
        // the workstation GC, their gen0/gen1 pauses (up to 110 ms) held back watch events and were most of the event
        // tail the SDK's subscriber saw (issue 15). A real kube-apiserver is a Go process with a concurrent collector.
        // VP_BENCH_CLUSTER_DOTNET_gcServer=0 brings the workstation GC back.
        var (child, ready) = await ChildProcess.StartAsync(
            "cluster",
            ["__cluster", profile.ToString().ToLowerInvariant(), watchHistory.ToString(CultureInfo.InvariantCulture)],
            cancellationToken,
            new Dictionary<string, string> { ["DOTNET_gcServer"] = "1" }).ConfigureAwait(false);
        return new BenchCluster(new Uri(ready), null, child);
    }

    public Task<string> SendAsync(string command, CancellationToken cancellationToken) =>
        _child is not null ? _child.SendAsync(command, cancellationToken) : _local!.HandleAsync(command, cancellationToken);

    public async Task<T> SendAsync<T>(string command, CancellationToken cancellationToken) =>
        JsonSerializer.Deserialize<T>(await SendAsync(command, cancellationToken).ConfigureAwait(false))
        ?? throw new InvalidOperationException($"{command}: empty answer");

    public async ValueTask DisposeAsync()
    {
        if (_child is not null)
        {
            await _child.DisposeAsync().ConfigureAwait(false);
        }

        if (_local is not null)
        {
            await _local.DisposeAsync().ConfigureAwait(false);
        }
    }
}
