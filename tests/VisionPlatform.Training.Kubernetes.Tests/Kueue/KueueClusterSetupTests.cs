using k8s;
using k8s.Models;
using VisionPlatform.Training.Kubernetes.Tests.ClusterSetup;

namespace VisionPlatform.Training.Kubernetes.Tests.Kueue;

/// <summary>The cluster set-up with a queue configured: the LocalQueue and the Role's Kueue rules.</summary>
public class KueueClusterSetupTests
{
    [Fact]
    public void With_a_queue_and_a_ClusterQueue_the_manifest_holds_the_LocalQueue_and_the_Kueue_rules()
    {
        var executor = new KubernetesExecutorOptions { Kueue = { QueueName = "team-a" } };
        var options = new ClusterSetupOptions { Kueue = { ClusterQueue = "cluster-gpu" } };
        using var setup = new KubernetesClusterSetup(executor, options);

        var yaml = setup.RenderYaml();

        GoldenFile.Verify("cluster-setup-kueue.yaml", yaml);
        yaml.Should().Contain("apiVersion: kueue.x-k8s.io/v1beta1\nkind: LocalQueue\n");
        var role = KubernetesYaml.Deserialize<V1Role>(yaml.Split("---\n").Single(d => d.Contains("kind: Role\n", StringComparison.Ordinal)));
        role.Rules.Select(r => $"{r.ApiGroups.Single()}:{r.Resources.Single()}:{string.Join(",", r.Verbs)}").Should().Contain(
            ["kueue.x-k8s.io:workloads:get,list,watch,patch", "visibility.kueue.x-k8s.io:localqueues/pendingworkloads:get"]);
    }

    [Fact]
    public void Without_a_ClusterQueue_the_LocalQueue_is_a_comment_naming_the_key_and_the_rules_stay()
    {
        var executor = new KubernetesExecutorOptions { Kueue = { QueueName = "team-a" } };
        using var setup = new KubernetesClusterSetup(executor, new ClusterSetupOptions());

        var yaml = setup.RenderYaml();

        yaml.Should().Contain("# LocalQueue 'team-a' is not rendered: no ClusterQueue is configured: set Training:Kubernetes:ClusterSetup:Kueue:ClusterQueue");
        yaml.Should().NotContain("kind: LocalQueue").And.Contain("- workloads");
    }

    [Fact]
    public void Without_a_queue_nothing_about_Kueue_is_rendered()
    {
        using var setup = new KubernetesClusterSetup(new KubernetesExecutorOptions(), new ClusterSetupOptions { Kueue = { ClusterQueue = "cluster-gpu" } });

        setup.RenderYaml().Should().NotContain("kueue");
        ClusterManifest.BackendRules(kueue: false).Should().BeEquivalentTo(ClusterManifest.BackendRules());
    }

    [Fact]
    public void An_invalid_ClusterQueue_is_rejected_naming_the_key()
    {
        using var setup = new KubernetesClusterSetup(new KubernetesExecutorOptions { Kueue = { QueueName = "team-a" } }, new ClusterSetupOptions());

        var act = () => setup.RenderYaml(new ClusterSetupOptions { Kueue = { ClusterQueue = "Cluster_GPU" } });

        act.Should().Throw<TrainingValidationException>().Which.Errors.Should().ContainSingle(e =>
            e.Field == "Training:Kubernetes:ClusterSetup:Kueue:ClusterQueue" && e.Value == "Cluster_GPU");
    }

    [Fact]
    public async Task Ensure_creates_the_LocalQueue_and_then_finds_it_unchanged()
    {
        await using var h = await SetupHarness.StartAsync();
        h.ExecutorOptions.Kueue.QueueName = "team-a";
        using var setup = new KubernetesClusterSetup(h.Client, h.ExecutorOptions, new ClusterSetupOptions { Kueue = { ClusterQueue = "cluster-gpu" } });

        var first = await setup.EnsureClusterResourcesAsync();
        var second = await setup.EnsureClusterResourcesAsync();
        var drift = await setup.CheckClusterResourcesAsync(new ClusterSetupOptions { Kueue = { ClusterQueue = "cluster-cpu" } });

        first.ToString().Should().Contain("LocalQueue training/team-a: Created");
        second.ToString().Should().Contain("LocalQueue training/team-a: Unchanged");
        drift.ToString().Should().Contain("LocalQueue training/team-a: Different").And.Contain("spec.clusterQueue");
        var queue = await h.Client.CustomObjects.GetNamespacedCustomObjectAsync("kueue.x-k8s.io", "v1beta1", "training", "localqueues", "team-a");
        KubernetesJson.Serialize(queue).Should().Contain("\"clusterQueue\":\"cluster-gpu\"").And.Contain("visionplatform-training-sdk");
    }

    [Fact]
    public async Task A_LocalQueue_create_answered_404_says_to_install_Kueue()
    {
        using var server = new VisionPlatform.Training.Kubernetes.Tests.Routing.ScriptedApiServer();
        server.Enqueue(404);
        server.Enqueue(404);
        using var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = server.Url.ToString() });
        var queue = new KueueLocalQueue { Metadata = new V1ObjectMeta { Name = "team-a", NamespaceProperty = "training" }, Spec = new KueueLocalQueueSpec { ClusterQueue = "cluster-gpu" } };
        var item = new ManagedObject<KueueLocalQueue>(ObjectKinds.LocalQueue, "team-a", "training", queue, null, null);

        var act = () => item.EnsureAsync(new SetupContext(client, "the test's client", Overwrite: false), CancellationToken.None);

        var error = (await act.Should().ThrowAsync<TrainingException>()).Which;
        error.Code.Should().Be(TrainingErrorCode.Rejected);
        error.Message.Should().Be("The cluster set-up cannot create LocalQueue 'team-a' in namespace 'training': the API server does not serve localqueues.kueue.x-k8s.io (404). Install Kueue (kueue.x-k8s.io/v1beta1) in the cluster first, or unset Training:Kubernetes:Kueue:QueueName.");
        server.Requests.Select(r => $"{r.Method} {r.PathAndQuery}").Should().Equal(
            "GET /apis/kueue.x-k8s.io/v1beta1/namespaces/training/localqueues/team-a",
            "POST /apis/kueue.x-k8s.io/v1beta1/namespaces/training/localqueues");
    }
}
