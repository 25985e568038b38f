using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Admission;

/// <summary>
/// A cluster with the controllers admission needs (ServiceAccounts, resource quota, events mirror, Job) and no scheduler or node agent,
/// so pods stay Pending and count against quotas until a test finishes or deletes them.
/// </summary>
public sealed class AdmissionFixture : IAsyncLifetime
{
    public KubernetesTestCluster Cluster { get; private set; } = null!;

    public IKubernetes Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var options = new KubernetesTestClusterOptions();
        options.Components.Clear();
        options.Components.Add(() => new TestCluster.Controllers.ServiceAccountsController());
        options.Components.Add(() => new TestCluster.Controllers.ResourceQuotaController());
        options.Components.Add(() => new TestCluster.Controllers.EventsMirror());
        options.Components.Add(() => new TestCluster.Controllers.JobController());
        Cluster = await KubernetesTestCluster.StartAsync(options);
        Client = Cluster.CreateClient();
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Cluster.DisposeAsync();
    }

    /// <summary>A fresh namespace per test, with optional labels (Pod Security).</summary>
    public async Task<string> NewNamespaceAsync(IDictionary<string, string>? labels = null)
    {
        var name = "adm-" + Guid.NewGuid().ToString("N")[..10];
        await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = name, Labels = labels } });
        return name;
    }

    /// <summary>A pod with one container <c>trainer</c>.</summary>
    public static V1Pod Pod(string name, Action<V1PodSpec>? configure = null)
    {
        var spec = new V1PodSpec
        {
            RestartPolicy = "Never",
            Containers = [new V1Container { Name = "trainer", Image = "trainer:1", Command = ["python", "train.py"] }],
        };
        configure?.Invoke(spec);
        return new V1Pod { Metadata = new V1ObjectMeta { Name = name }, Spec = spec };
    }

    /// <summary>A Job whose pod template is <see cref="Pod"/>'s.</summary>
    public static V1Job Job(string name, Action<V1PodSpec>? configure = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Spec = new V1JobSpec { BackoffLimit = 0, Template = new V1PodTemplateSpec { Spec = Pod(name, configure).Spec } },
    };

    /// <summary>A container resources block with limits (requests default to them).</summary>
    public static V1ResourceRequirements Limits(params (string Name, string Value)[] limits) =>
        new() { Limits = limits.ToDictionary(l => l.Name, l => new ResourceQuantity(l.Value)) };

    /// <summary>What a refused call answered: HTTP status and the Status body.</summary>
    public static async Task<(int Code, JsonObject Status)> RefusalAsync(Func<Task> call)
    {
        var error = (await call.Should().ThrowAsync<HttpOperationException>()).Which;
        return ((int)error.Response.StatusCode, JsonNode.Parse(error.Response.Content)!.AsObject());
    }

    /// <summary>Polls until the condition holds (the controllers act asynchronously).</summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> condition, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        var last = await read();
        while (!condition(last))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"condition not met within {seconds} s; last value: {KubernetesJson.Serialize(last)}");
            }

            await Task.Delay(100);
            last = await read();
        }

        return last;
    }

    public static V1SecurityContext RestrictedContainer() => new()
    {
        AllowPrivilegeEscalation = false,
        RunAsNonRoot = true,
        Capabilities = new V1Capabilities { Drop = ["ALL"] },
        SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
    };
}
