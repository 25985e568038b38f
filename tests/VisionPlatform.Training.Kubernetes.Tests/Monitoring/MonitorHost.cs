using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using VisionPlatform.Training.Kubernetes.TestCluster;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;
using VisionPlatform.Training.Testing;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>
/// A host as a backend builds it (AddTrainingExecutors().AddKubernetes(...)) against a test cluster whose trainer images
/// run the demo trainer, with its hosted services (the Kubernetes monitor) started.
/// </summary>
internal sealed class MonitorHost : IAsyncDisposable
{
    private readonly List<IHostedService> _started = [];

    private MonitorHost(ClusterHarness cluster, ServiceProvider provider)
    {
        Cluster = cluster;
        Provider = provider;
    }

    public ClusterHarness Cluster { get; }

    public KubernetesTestCluster Api => Cluster.Cluster;

    public ServiceProvider Provider { get; }

    public ITrainingExecutor Executor => Provider.GetRequiredKeyedService<ITrainingExecutor>(KubernetesExecutorInfo.ExecutorName);

    public ITrainingEventSource Events => Provider.GetRequiredService<ITrainingEventSource>();

    public TrainingClient Client => Provider.GetRequiredService<TrainingClient>();

    internal KubernetesRunMonitor Monitor => Provider.GetRequiredService<KubernetesRunMonitor>();

    public static async Task<MonitorHost> StartAsync(
        Action<KubernetesMonitorOptions>? monitor = null,
        Action<KubernetesTestClusterOptions>? cluster = null,
        Action<KubernetesExecutorOptions>? executor = null,
        Action<TrainingOptions>? training = null,
        ImageMapping? image = null)
    {
        var harness = await WorkloadHarness.StartAsync(c =>
        {
            if (image is not null)
            {
                c.Workloads.ImageResolver = _ => image;
            }

            cluster?.Invoke(c);
        });
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o =>
        {
            o.DefaultExecutor = KubernetesExecutorInfo.ExecutorName;
            training?.Invoke(o);
        }).AddKubernetes(o =>
        {
            o.Connection.Host = harness.Cluster.Url.ToString().TrimEnd('/');
            o.Image.Registry = "registry.example.com/vision";
            o.Image.Tag = "1.4.0";
            o.PollInterval = TimeSpan.FromMilliseconds(200);
            o.Monitor.BackoffBase = TimeSpan.FromMilliseconds(100);
            o.Monitor.BackoffMax = TimeSpan.FromSeconds(1);
            monitor?.Invoke(o.Monitor);
            executor?.Invoke(o);
        });
        var host = new MonitorHost(harness, services.BuildServiceProvider());
        try
        {
            foreach (var service in host.Provider.GetServices<IHostedService>())
            {
                await service.StartAsync(CancellationToken.None);
                host._started.Add(service);
            }
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }

        return host;
    }

    public Task WaitForSyncAsync() =>
        Eventually.GetAsync(() => Task.FromResult(Monitor.IsSynced), synced => synced, "the monitor to sync");

    /// <summary>
    /// Waits until the monitor's watches (Jobs, pods and FailedCreate Events) are open on the API server. A synced monitor has listed both
    /// kinds, but opens each watch only after its list, so on a loaded machine a fault injected right after the sync can
    /// find a watch that is not open yet.
    /// </summary>
    public Task WaitForWatchesAsync(int count = 3) =>
        Eventually.GetAsync(() => Task.FromResult(Api.Faults.OpenWatches), open => open >= count, $"{count} watches to be open");

    public async ValueTask DisposeAsync()
    {
        for (var i = _started.Count - 1; i >= 0; i--)
        {
            await _started[i].StopAsync(CancellationToken.None);
        }

        await Provider.DisposeAsync();
        await Cluster.DisposeAsync();
    }
}

/// <summary>Collects every event of a subscription in the background.</summary>
internal sealed class EventRecorder : IAsyncDisposable
{
    private readonly TrainingEventCollector _collector;

    public EventRecorder(ITrainingEventSource source, TrainingEventSubscription? subscription = null) =>
        _collector = new TrainingEventCollector(source, subscription ?? new TrainingEventSubscription { IncludeCurrentState = false, BufferCapacity = 65_536 });

    public IReadOnlyList<TrainingJobEvent> Events => _collector.Events;

    public IReadOnlyList<TrainingPhaseChangedEvent> Phases(string jobId) => _collector.OfRun<TrainingPhaseChangedEvent>(jobId);

    public async Task<IReadOnlyList<TrainingJobEvent>> WaitForAsync(Func<IReadOnlyList<TrainingJobEvent>, bool> until, string what, TimeSpan? timeout = null)
    {
        try
        {
            return await _collector.WaitForAsync(until, timeout ?? TimeSpan.FromSeconds(120));
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"Timed out waiting for {what}: {e.Message}", e);
        }
    }

    public ValueTask DisposeAsync() => _collector.DisposeAsync();
}
