using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Api;

/// <summary>An API-only cluster (no controllers) shared by a test class, with a raw HTTP client and a KubernetesClient.</summary>
public sealed class ApiFixture : IAsyncLifetime
{
    public KubernetesTestCluster Cluster { get; private set; } = null!;

    public IKubernetes Client { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Cluster = await StartAsync();
        Client = Cluster.CreateClient();
        Http = new HttpClient { BaseAddress = Cluster.Url, Timeout = TimeSpan.FromSeconds(60) };
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        Client.Dispose();
        await Cluster.DisposeAsync();
    }

    public static Task<KubernetesTestCluster> StartAsync(Action<KubernetesTestClusterOptions>? configure = null)
    {
        var options = new KubernetesTestClusterOptions();
        options.Components.Clear();
        configure?.Invoke(options);
        return KubernetesTestCluster.StartAsync(options);
    }

    /// <summary>A fresh namespace per test, so tests sharing the cluster do not see each other's objects.</summary>
    public async Task<string> NewNamespaceAsync()
    {
        var name = "t-" + Guid.NewGuid().ToString("N")[..10];
        await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = name } });
        return name;
    }

    public async Task<(int Status, JsonObject Body, HttpResponseMessage Response)> SendAsync(HttpMethod method, string path, string? json = null, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8);
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        }

        var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var body = text.Length > 0 && text.TrimStart().StartsWith('{') ? JsonNode.Parse(text)!.AsObject() : new JsonObject { ["text"] = text };
        return ((int)response.StatusCode, body, response);
    }

    public static V1Job Job(string? name = null, string? generateName = null, string restartPolicy = "Never", IDictionary<string, string>? labels = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, GenerateName = generateName, Labels = labels },
        Spec = new V1JobSpec
        {
            BackoffLimit = 0,
            Template = new V1PodTemplateSpec
            {
                Spec = new V1PodSpec
                {
                    RestartPolicy = restartPolicy,
                    Containers = [new V1Container { Name = "main", Image = "busybox:1.36", Command = ["echo", "hi"] }],
                },
            },
        },
    };
}

[CollectionDefinition("api")]
public sealed class ApiCollection : ICollectionFixture<ApiFixture>;
