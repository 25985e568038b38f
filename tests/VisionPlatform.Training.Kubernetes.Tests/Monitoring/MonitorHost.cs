using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using VisionPlatform.Training.Kubernetes.TestCluster;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

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
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _pump;
    private readonly Lock _gate = new();
    private readonly List<TrainingJobEvent> _events = [];

    public EventRecorder(ITrainingEventSource source, TrainingEventSubscription? subscription = null)
    {
        var ready = new TaskCompletionSource();
        _pump = Task.Run(async () =>
        {
            try
            {
                var stream = source.SubscribeAsync(subscription ?? new TrainingEventSubscription { IncludeCurrentState = false, BufferCapacity = 65_536 }, _stop.Token);
                await using var e = stream.GetAsyncEnumerator(_stop.Token);
                var next = e.MoveNextAsync();
                ready.TrySetResult();
                while (await next)
                {
                    lock (_gate)
                    {
                        _events.Add(e.Current);
                    }

                    next = e.MoveNextAsync();
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        ready.Task.Wait(TimeSpan.FromSeconds(10));
    }

    public IReadOnlyList<TrainingJobEvent> Events
    {
        get
        {
            lock (_gate)
            {
                return [.. _events];
            }
        }
    }

    public IReadOnlyList<TrainingPhaseChangedEvent> Phases(string jobId) =>
        Events.OfType<TrainingPhaseChangedEvent>().Where(e => e.JobId == jobId).ToList();

    public Task<IReadOnlyList<TrainingJobEvent>> WaitForAsync(Func<IReadOnlyList<TrainingJobEvent>, bool> until, string what, TimeSpan? timeout = null) =>
        Eventually.GetAsync(() => Task.FromResult(Events), until, what, timeout ?? TimeSpan.FromSeconds(120));

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _pump;
        _stop.Dispose();
    }
}
