using k8s;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Api;

public sealed class ClusterFacadeTests
{
    [Fact]
    public async Task A_started_cluster_serves_a_plain_KubernetesClient_and_cleans_up_on_dispose()
    {
        var options = new KubernetesTestClusterOptions();
        options.Components.Clear();
        options.Namespaces.Add("ml");
        var cluster = await KubernetesTestCluster.StartAsync(options);
        var dataDirectory = cluster.Context.DataDirectory;
        var kubeconfig = cluster.WriteKubeconfig();
        try
        {
            using var client = new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig));
            var namespaces = await client.CoreV1.ListNamespaceAsync();
            namespaces.Items.Select(n => n.Metadata.Name).Should().Contain(["default", "kube-system", "ml"]);

            cluster.Requests.CountOf("list", "namespaces").Should().Be(1);
        }
        finally
        {
            await cluster.DisposeAsync();
        }

        Directory.Exists(dataDirectory).Should().BeFalse();
        using var after = new HttpClient();
        var refused = () => after.GetAsync(new Uri(cluster.Url, "/version"));
        await refused.Should().ThrowAsync<HttpRequestException>();
    }
}
