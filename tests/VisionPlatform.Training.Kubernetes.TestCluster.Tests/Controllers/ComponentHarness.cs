using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Controllers;

/// <summary>The workload components on a bare store (no HTTP), for driving them directly.</summary>
internal sealed class ComponentHarness : IAsyncDisposable
{
    private readonly List<IClusterComponent> _components = [];

    private ComponentHarness(ClusterContext context)
    {
        Context = context;
    }

    public ClusterContext Context { get; }

    public ClusterStore Store => Context.Store;

    public static string RepositoryRoot
    {
        get
        {
            var directory = new DirectoryInfo(AppContext.BaseDirectory);
            while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Training.Sdk.sln")))
            {
                directory = directory.Parent;
            }

            return directory?.FullName ?? throw new InvalidOperationException("Training.Sdk.sln not found above " + AppContext.BaseDirectory);
        }
    }

    public static string TrainScript => Path.Combine(RepositoryRoot, "samples", "trainer", "train.py");

    public static async Task<ComponentHarness> StartAsync(Action<KubernetesTestClusterOptions>? configure = null)
    {
        var options = new KubernetesTestClusterOptions();
        options.Workloads.Images["trainer-ultralytics:test"] = ImageMapping.PythonTrainer(TrainScript);
        options.Workloads.JobPodFailureBackoff = TimeSpan.FromMilliseconds(200);
        options.Workloads.ImagePullBackoff = TimeSpan.FromMilliseconds(300);
        configure?.Invoke(options);
        var store = new ClusterStore();
        store.Create(ResourceType.Namespaces, null, new JsonObject { ["metadata"] = new JsonObject { ["name"] = "ml" } });
        var data = Directory.CreateTempSubdirectory("vp-cluster-").FullName;
        var harness = new ComponentHarness(new ClusterContext(store, data, options, NullLoggerFactory.Instance));
        foreach (var factory in options.Components)
        {
            var component = factory();
            await component.StartAsync(harness.Context);
            harness._components.Add(component);
        }

        return harness;
    }

    public async Task<JsonObject> WaitForAsync(ResourceType type, string name, Func<JsonObject, bool> condition, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        JsonObject? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = Store.Get(type, "ml", name);
            if (last is not null && condition(last))
            {
                return last;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"{type.Plural}/{name} did not reach the expected state; last: {last?.ToJsonString()}\n{Diagnostics()}");
    }

    /// <summary>Every pod and every container log, for failure messages.</summary>
    public string Diagnostics()
    {
        var text = new System.Text.StringBuilder();
        foreach (var pod in Store.List(ResourceType.Pods, null).Items)
        {
            text.AppendLine(pod.ToJsonString());
        }

        var logs = Path.Combine(Context.DataDirectory, "logs");
        if (Directory.Exists(logs))
        {
            foreach (var file in Directory.EnumerateFiles(logs, "*.log", SearchOption.AllDirectories))
            {
                text.AppendLine(file).AppendLine(File.ReadAllText(file));
            }
        }

        return text.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var component in Enumerable.Reverse(_components))
        {
            await component.DisposeAsync();
        }

        Directory.Delete(Context.DataDirectory, recursive: true);
    }
}
