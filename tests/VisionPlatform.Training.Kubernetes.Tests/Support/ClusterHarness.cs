using k8s;
using k8s.Models;
using VisionPlatform.Training.Kubernetes.TestCluster;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>A test cluster with the <c>training</c> namespace, a plain client and an executor pointed at it.</summary>
internal sealed class ClusterHarness : IAsyncDisposable
{
    private ClusterHarness(KubernetesTestCluster cluster, KubernetesExecutorOptions options)
    {
        Cluster = cluster;
        Client = cluster.CreateClient();
        Options = options;
        Executor = NewExecutor();
    }

    public KubernetesTestCluster Cluster { get; }

    public IKubernetes Client { get; }

    public KubernetesExecutorOptions Options { get; }

    public KubernetesTrainingExecutor Executor { get; }

    public static async Task<ClusterHarness> StartAsync(
        Action<KubernetesTestClusterOptions>? cluster = null,
        Action<KubernetesExecutorOptions>? executor = null,
        bool apiServerOnly = false)
    {
        var clusterOptions = new KubernetesTestClusterOptions();
        clusterOptions.Namespaces.Add("training");
        if (apiServerOnly)
        {
            clusterOptions.Components.Clear();
        }

        cluster?.Invoke(clusterOptions);
        var started = await KubernetesTestCluster.StartAsync(clusterOptions);
        var options = Jobs.Options(o =>
        {
            o.Connection.Host = started.Url.ToString().TrimEnd('/');
            o.PollInterval = TimeSpan.FromMilliseconds(200);
            executor?.Invoke(o);
        });
        return new ClusterHarness(started, options);
    }

    /// <summary>A second executor over the same cluster, as after a host restart.</summary>
    public KubernetesTrainingExecutor NewExecutor() =>
        new(new TrainingJobSpecBuilder(Options, new VisionPlatform.Training.Trainers.FlagTrainerContract()));

    public async Task<IReadOnlyList<V1Job>> JobsAsync() =>
        (await Client.BatchV1.ListNamespacedJobAsync("training")).Items.ToList();

    public async Task<IReadOnlyList<V1Pod>> PodsAsync() =>
        (await Client.CoreV1.ListNamespacedPodAsync("training")).Items.ToList();

    public async ValueTask DisposeAsync()
    {
        Executor.Dispose();
        Client.Dispose();
        await Cluster.DisposeAsync();
    }
}

/// <summary>Polls until a condition holds, with a generous deadline (the machine is shared and busy).</summary>
internal static class Eventually
{
    public static async Task<T> GetAsync<T>(Func<Task<T>> read, Func<T, bool> until, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        T last;
        while (true)
        {
            last = await read();
            if (until(last))
            {
                return last;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting for {what}; last value: {last}");
            }

            await Task.Delay(100);
        }
    }
}
