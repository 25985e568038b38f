using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Kueue;

/// <summary>
/// A test cluster with the Kueue simulation and a simulated image, plus helpers that talk to it the way a client of a
/// real cluster with Kueue does: the generic custom-object calls of KubernetesClient over HTTP.
/// </summary>
internal sealed class KueueEnvironment : IAsyncDisposable
{
    public const string Group = "kueue.x-k8s.io";
    public const string Version = "v1beta1";

    /// <summary>
    /// A simulated image whose container runs for <c>--seconds</c> (first argument pair) on its first start and for
    /// <c>--rerun-seconds</c> on later starts of the same Job: a preempted Job's first pod would outlive the test, its
    /// readmitted one finishes quickly.
    /// </summary>
    public const string Image = "registry.example.com/kueue-sim:1";

    private readonly ConcurrentDictionary<string, int> _starts = new(StringComparer.Ordinal);

    private KueueEnvironment(KubernetesTestCluster cluster)
    {
        Cluster = cluster;
        Client = cluster.CreateClient();
    }

    public KubernetesTestCluster Cluster { get; }

    public IKubernetes Client { get; }

    public static async Task<KueueEnvironment> StartAsync(Action<KubernetesTestClusterOptions>? configure = null)
    {
        KueueEnvironment? environment = null;
        var options = new KubernetesTestClusterOptions();
        options.Workloads.Images[Image] = ImageMapping.Simulated(start => environment!.Run(start));
        configure?.Invoke(options);
        environment = new KueueEnvironment(await KubernetesTestCluster.StartAsync(options));
        return environment;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Cluster.DisposeAsync();
    }

    public async Task<string> NewNamespaceAsync()
    {
        var name = "kq-" + Guid.NewGuid().ToString("N")[..10];
        await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = name } });
        return name;
    }

    /// <summary>A ResourceFlavor, a ClusterQueue selecting every namespace with a cpu/memory/GPU quota in it, and a LocalQueue.</summary>
    public async Task<string> CreateQueuesAsync(string ns, string localQueue, string cpu, string withinClusterQueue = "Never",
        string queueingStrategy = "BestEffortFIFO", string? clusterQueue = null, JsonObject? nodeLabels = null)
    {
        var flavor = "flavor-" + ns;
        clusterQueue ??= "cq-" + ns;
        await CreateClusterAsync("resourceflavors", new JsonObject
        {
            ["apiVersion"] = $"{Group}/{Version}",
            ["kind"] = "ResourceFlavor",
            ["metadata"] = new JsonObject { ["name"] = flavor },
            ["spec"] = nodeLabels is null ? new JsonObject() : new JsonObject { ["nodeLabels"] = nodeLabels },
        });
        await CreateClusterAsync("clusterqueues", ClusterQueue(clusterQueue, flavor, cpu, withinClusterQueue, queueingStrategy));
        await CreateLocalQueueAsync(ns, localQueue, clusterQueue);
        return clusterQueue;
    }

    public static JsonObject ClusterQueue(string name, string flavor, string cpu, string withinClusterQueue = "Never", string queueingStrategy = "BestEffortFIFO") => new()
    {
        ["apiVersion"] = $"{Group}/{Version}",
        ["kind"] = "ClusterQueue",
        ["metadata"] = new JsonObject { ["name"] = name },
        ["spec"] = new JsonObject
        {
            ["namespaceSelector"] = new JsonObject(),
            ["queueingStrategy"] = queueingStrategy,
            ["preemption"] = new JsonObject { ["withinClusterQueue"] = withinClusterQueue },
            ["resourceGroups"] = new JsonArray(new JsonObject
            {
                ["coveredResources"] = new JsonArray("cpu", "memory", "nvidia.com/gpu"),
                ["flavors"] = new JsonArray(new JsonObject
                {
                    ["name"] = flavor,
                    ["resources"] = new JsonArray(
                        new JsonObject { ["name"] = "cpu", ["nominalQuota"] = cpu },
                        new JsonObject { ["name"] = "memory", ["nominalQuota"] = "8Gi" },
                        new JsonObject { ["name"] = "nvidia.com/gpu", ["nominalQuota"] = "0" }),
                }),
            }),
        },
    };

    public Task CreateLocalQueueAsync(string ns, string name, string clusterQueue) =>
        Client.CustomObjects.CreateNamespacedCustomObjectAsync(new JsonObject
        {
            ["apiVersion"] = $"{Group}/{Version}",
            ["kind"] = "LocalQueue",
            ["metadata"] = new JsonObject { ["name"] = name },
            ["spec"] = new JsonObject { ["clusterQueue"] = clusterQueue },
        }, Group, Version, ns, "localqueues");

    public Task CreatePriorityClassAsync(string name, int value) =>
        CreateClusterAsync("workloadpriorityclasses", new JsonObject
        {
            ["apiVersion"] = $"{Group}/{Version}",
            ["kind"] = "WorkloadPriorityClass",
            ["metadata"] = new JsonObject { ["name"] = name },
            ["value"] = value,
        });

    public Task CreateClusterAsync(string plural, JsonObject body) =>
        Client.CustomObjects.CreateClusterCustomObjectAsync(body, Group, Version, plural);

    public async Task<JsonObject> GetClusterAsync(string plural, string name) =>
        ToNode(await Client.CustomObjects.GetClusterCustomObjectAsync(Group, Version, plural, name));

    public async Task<JsonObject> GetAsync(string ns, string plural, string name) =>
        ToNode(await Client.CustomObjects.GetNamespacedCustomObjectAsync(Group, Version, ns, plural, name));

    /// <summary>A Job of one pod requesting <paramref name="cpu"/>, queued to <paramref name="queue"/> (null: not queued).</summary>
    public static V1Job Job(string name, string? queue, string cpu = "1", int seconds = 600, int rerunSeconds = 1, string? priorityClass = null)
    {
        var labels = new Dictionary<string, string>();
        if (queue is not null)
        {
            labels["kueue.x-k8s.io/queue-name"] = queue;
        }

        if (priorityClass is not null)
        {
            labels["kueue.x-k8s.io/priority-class"] = priorityClass;
        }

        return new V1Job
        {
            Metadata = new V1ObjectMeta { Name = name, Labels = labels },
            Spec = new V1JobSpec
            {
                BackoffLimit = 0,
                Template = new V1PodTemplateSpec
                {
                    Spec = new V1PodSpec
                    {
                        RestartPolicy = "Never",
                        TerminationGracePeriodSeconds = 1,
                        Containers =
                        [
                            new V1Container
                            {
                                Name = "trainer",
                                Image = Image,
                                Args = ["--seconds", seconds.ToString(CultureInfo.InvariantCulture), "--rerun-seconds", rerunSeconds.ToString(CultureInfo.InvariantCulture), "--job", name],
                                Resources = new V1ResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new(cpu) } },
                            },
                        ],
                    },
                },
            },
        };
    }

    /// <summary>The Workload Kueue made for a Job (found by the job-uid label), or null.</summary>
    public async Task<JsonObject?> WorkloadOfAsync(string ns, string jobName)
    {
        var job = await Client.BatchV1.ReadNamespacedJobAsync(jobName, ns);
        var list = ToNode(await Client.CustomObjects.ListNamespacedCustomObjectAsync(Group, Version, ns, "workloads",
            labelSelector: $"kueue.x-k8s.io/job-uid={job.Metadata.Uid}"));
        return list["items"]!.AsArray().OfType<JsonObject>().SingleOrDefault();
    }

    public Task<JsonObject> WaitForWorkloadAsync(string ns, string jobName, Func<JsonObject, bool> condition, string what) =>
        EventuallyAsync(async () => await WorkloadOfAsync(ns, jobName), w => w is not null && condition(w), what)!;

    public async Task<V1Job> WaitForJobAsync(string ns, string name, Func<V1Job, bool> condition, string what) =>
        await EventuallyAsync(() => Client.BatchV1.ReadNamespacedJobAsync(name, ns), condition, what);

    public async Task<IList<V1Pod>> PodsOfAsync(string ns, string jobName) =>
        (await Client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: $"batch.kubernetes.io/job-name={jobName}")).Items;

    /// <summary>A raw GET through the client's HTTP pipeline: status code and body.</summary>
    public async Task<(int Code, JsonObject Body)> GetRawAsync(string path)
    {
        using var http = new HttpClient { BaseAddress = Cluster.Url };
        using var response = await http.GetAsync(new Uri(path.TrimStart('/'), UriKind.Relative));
        return ((int)response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject());
    }

    public static JsonObject? Condition(JsonObject obj, string type) =>
        obj["status"]?["conditions"]?.AsArray().OfType<JsonObject>().FirstOrDefault(c => c["type"]?.GetValue<string>() == type);

    public static bool ConditionIs(JsonObject obj, string type, string status) =>
        Condition(obj, type)?["status"]?.GetValue<string>() == status;

    public static bool IsTrue(V1Job job, string type) => job.Status?.Conditions?.Any(c => c.Type == type && c.Status == "True") == true;

    public static JsonObject ToNode(object result) => JsonNode.Parse(JsonSerializer.Serialize(result))!.AsObject();

    /// <summary>What a refused call answered: HTTP status and the Status body.</summary>
    public static async Task<(int Code, JsonObject Status)> RefusalAsync(Func<Task> call)
    {
        var error = (await call.Should().ThrowAsync<HttpOperationException>()).Which;
        return ((int)error.Response.StatusCode, JsonNode.Parse(error.Response.Content)!.AsObject());
    }

    /// <summary>Polls until the condition holds (the controllers act asynchronously), failing with the last value read.</summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> condition, string what, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        var last = await read();
        while (!condition(last))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out waiting until {what}; last: {JsonSerializer.Serialize(last)}");
            }

            await Task.Delay(100);
            last = await read();
        }

        return last;
    }

    private SimulatedRun Run(SimulatedContainerStart start)
    {
        string Arg(string name) => start.Arguments.SkipWhile(a => a != name).Skip(1).FirstOrDefault() ?? "0";
        var starts = _starts.AddOrUpdate(Arg("--job"), 1, (_, n) => n + 1);
        var seconds = int.Parse(starts == 1 ? Arg("--seconds") : Arg("--rerun-seconds"), CultureInfo.InvariantCulture);
        return new SimulatedRun(TimeSpan.FromSeconds(seconds));
    }
}
