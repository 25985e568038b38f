using k8s;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using VisionPlatform.Training.Kubernetes.TestCluster;
using VisionPlatform.Training.Testing;

namespace VisionPlatform.Training.Kubernetes.Tests.Routing;

/// <summary>
/// A host the way a backend wires it in migration phase 2: the real Kubernetes executor against the test cluster as the
/// default, the real subprocess executor (running samples/trainer/train.py) as the fallback. Disposing stops every
/// local run and deletes the runs directory.
/// </summary>
internal sealed class FallbackHost : IAsyncDisposable
{
    private readonly ServiceProvider _provider;
    private readonly string _root;

    private FallbackHost(KubernetesTestCluster cluster, ServiceProvider provider, string root)
    {
        Cluster = cluster;
        _provider = provider;
        _root = root;
        Client = provider.GetRequiredService<TrainingClient>();
        Api = cluster.CreateClient();
    }

    public KubernetesTestCluster Cluster { get; }

    public TrainingClient Client { get; }

    public IKubernetes Api { get; }

    public IServiceProvider Services => _provider;

    public static string RepoRoot { get; } = FindRepoRoot();

    public static async Task<FallbackHost> StartAsync(
        Action<TrainingOptions>? training = null,
        Action<KubernetesTestClusterOptions>? cluster = null,
        Action<KubernetesExecutorOptions>? kubernetes = null)
    {
        var clusterOptions = new KubernetesTestClusterOptions();
        clusterOptions.Namespaces.Add("training");
        clusterOptions.Components.Clear(); // API server only: Jobs are stored, not run; the routing is what is tested.
        cluster?.Invoke(clusterOptions);
        var started = await KubernetesTestCluster.StartAsync(clusterOptions);
        var root = Path.Combine(Path.GetTempPath(), "vp-routing-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);

        var services = new ServiceCollection();
        services.AddLogging();
        services.AddTrainingExecutors(o =>
            {
                o.DefaultExecutor = KubernetesExecutorInfo.ExecutorName;
                o.Fallback.Executors.Add(TrainingExecutorNames.Subprocess);
                o.Availability.BackgroundRefresh = false;
                o.Availability.RefreshInterval = TimeSpan.FromMilliseconds(300);
                o.Subprocess.Interpreter = "python3";
                o.Subprocess.Script = Path.Combine(RepoRoot, "samples", "trainer", "train.py");
                o.Subprocess.RunsDirectory = Path.Combine(root, "runs");
                o.Subprocess.MaxConcurrentRuns = 2;
                o.Subprocess.StopGracePeriod = TimeSpan.FromSeconds(5);
                training?.Invoke(o);
            })
            .AddSubprocess()
            .AddKubernetes(o =>
            {
                o.Image.Registry = "registry.example.com/vision";
                o.Image.Tag = "1.4.0";
                o.Connection.Host = started.Url.ToString().TrimEnd('/');
                o.Connection.Resilience.BaseDelay = TimeSpan.FromMilliseconds(20);
                o.Connection.Resilience.MaxDelay = TimeSpan.FromMilliseconds(200);
                o.Connection.Resilience.MaxRetryAfter = TimeSpan.FromSeconds(5);
                kubernetes?.Invoke(o);
            });
        var provider = services.BuildServiceProvider();
        return new FallbackHost(started, provider, root);
    }

    /// <summary>A quick job for train.py: one short epoch.</summary>
    public static TrainingJobConfig Job(string jobId, int gpus = 0, double epochSeconds = 0.2)
    {
        var builder = SampleJobs.YoloBuilder(jobId, epochs: 1);
        builder.Resources = new TrainingResources { Gpus = gpus };
        return builder.WithAdvancedConfig(new { epoch_seconds = epochSeconds }).Build();
    }

    /// <summary>Changes options the way a configuration reload would.</summary>
    public void Reconfigure(Action<TrainingOptions> change)
    {
        var cache = _provider.GetRequiredService<IOptionsMonitorCache<TrainingOptions>>();
        var current = _provider.GetRequiredService<IOptionsMonitor<TrainingOptions>>().CurrentValue;
        change(current);
        cache.TryRemove(Options.DefaultName);
        cache.TryAdd(Options.DefaultName, current);
    }

    /// <summary>The job ids stored in the cluster (from the executor's job-id annotation).</summary>
    public async Task<IReadOnlyList<string>> ClusterJobIdsAsync() =>
        (await Api.BatchV1.ListNamespacedJobAsync("training")).Items
            .Select(j => j.Metadata.Annotations[KubernetesLabels.JobIdAnnotation]).ToList();

    /// <summary>The job ids the subprocess executor has runs for.</summary>
    public async Task<IReadOnlyList<string>> LocalJobIdsAsync() =>
        (await _provider.GetRequiredKeyedService<ITrainingExecutor>(TrainingExecutorNames.Subprocess).ListAsync()).Select(s => s.JobId).ToList();

    public async ValueTask DisposeAsync()
    {
        try
        {
            var local = _provider.GetRequiredKeyedService<ITrainingExecutor>(TrainingExecutorNames.Subprocess);
            foreach (var status in await local.ListAsync())
            {
                if (!status.IsTerminal)
                {
                    await local.StopAsync(status.Run, new TrainingStopOptions { GracePeriod = TimeSpan.FromSeconds(2) });
                }
            }
        }
        finally
        {
            Api.Dispose();
            await _provider.DisposeAsync();
            await Cluster.DisposeAsync();
            try
            {
                Directory.Delete(_root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Training.Sdk.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Training.Sdk.sln not found above the test directory.");
    }
}
