using System.Text.Json.Nodes;
using k8s;
using VisionPlatform.Training.Kubernetes.TestCluster.Api;
using static VisionPlatform.Training.Kubernetes.TestCluster.Tests.Kueue.KueueEnvironment;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Kueue;

/// <summary>
/// Kueue's visibility API (v1beta1 and v1beta2): pending workloads of a ClusterQueue and of a LocalQueue in queue order
/// with their positions, paging, and the cluster's authorization (403 without the RBAC rule); plus the CRD validation
/// the simulation relies on and kubectl reading Workloads through discovery.
/// </summary>
public sealed class KueueVisibilityTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("vp-kubectl-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    [Fact]
    public async Task Pending_workloads_are_listed_in_queue_order_with_positions_in_both_versions_and_kubectl_sees_them()
    {
        await using var env = await StartAsync();
        var ns = await env.NewNamespaceAsync();
        // no cpu quota at all: every Job stays pending
        var clusterQueue = await env.CreateQueuesAsync(ns, "a", cpu: "0");
        await env.CreateLocalQueueAsync(ns, "b", clusterQueue);
        await env.CreatePriorityClassAsync($"high-{ns}", 500);
        foreach (var (job, queue, priorityClass) in new[] { ("a1", "a", (string?)null), ("b1", "b", null), ("a2", "a", $"high-{ns}") })
        {
            await env.Client.BatchV1.CreateNamespacedJobAsync(Job(job, queue, priorityClass: priorityClass), ns);
            await env.WaitForWorkloadAsync(ns, job, w => Condition(w, "QuotaReserved") is not null, $"{job} is pending");
        }

        var a1 = await env.WorkloadOfAsync(ns, "a1");
        Condition(a1!, "QuotaReserved")!["message"]!.GetValue<string>().Should().Be(
            $"couldn't assign flavors to pod set main: insufficient quota for cpu in flavor flavor-{ns}, request > maximum capacity (1 > 0)");
        foreach (var version in new[] { "v1beta1", "v1beta2" })
        {
            var (code, summary) = await env.GetRawAsync($"/apis/visibility.kueue.x-k8s.io/{version}/clusterqueues/{clusterQueue}/pendingworkloads");
            code.Should().Be(200);
            summary["kind"]!.GetValue<string>().Should().Be("PendingWorkloadsSummary");
            summary["apiVersion"]!.GetValue<string>().Should().Be($"visibility.kueue.x-k8s.io/{version}");
            Rows(summary).Should().Equal("a2 a 500 0 0", "a1 a 0 1 1", "b1 b 0 2 0");
            var first = summary["items"]![0]!["metadata"]!;
            first["namespace"]!.GetValue<string>().Should().Be(ns);
            first["creationTimestamp"]!.GetValue<string>().Should().NotBeNullOrEmpty();
            first["ownerReferences"]![0]!["name"]!.GetValue<string>().Should().Be("a2");

            var (_, local) = await env.GetRawAsync($"/apis/visibility.kueue.x-k8s.io/{version}/namespaces/{ns}/localqueues/a/pendingworkloads");
            Rows(local).Should().Equal("a2 a 500 0 0", "a1 a 0 1 1");
            var generic = ToNode(await env.Client.CustomObjects.GetNamespacedCustomObjectAsync(
                "visibility.kueue.x-k8s.io", version, ns, "localqueues", "a/pendingworkloads"));
            Rows(generic).Should().Equal("a2 a 500 0 0", "a1 a 0 1 1");
            var (_, paged) = await env.GetRawAsync($"/apis/visibility.kueue.x-k8s.io/{version}/clusterqueues/{clusterQueue}/pendingworkloads?limit=1&offset=1");
            Rows(paged).Should().Equal("a1 a 0 1 1");
        }

        var (missing, status) = await env.GetRawAsync("/apis/visibility.kueue.x-k8s.io/v1beta1/clusterqueues/no-such-queue/pendingworkloads");
        missing.Should().Be(404);
        status["reason"]!.GetValue<string>().Should().Be("NotFound");

        var kubeconfig = env.Cluster.WriteKubeconfig();
        var table = await TestSupport.Kubectl.RunAsync(kubeconfig, _home, "get", "workloads", "-n", ns);
        table.Should().Contain("job-a1-").And.Contain("job-b1-").And.Contain("job-a2-");
        table.Split('\n')[0].Should().MatchRegex("^NAME +QUEUE +RESERVED IN +ADMITTED +FINISHED +AGE$", "the Workload CRD's printer columns");
        var queues = await TestSupport.Kubectl.RunAsync(kubeconfig, _home, "get", "localqueues", "-n", ns);
        queues.Should().MatchRegex("(?m)^a +" + clusterQueue + " +2 +0$");
        var raw = await TestSupport.Kubectl.RunAsync(kubeconfig, _home, "get", "--raw", $"/apis/visibility.kueue.x-k8s.io/v1beta2/namespaces/{ns}/localqueues/b/pendingworkloads");
        JsonNode.Parse(raw)!["items"]![0]!["positionInClusterQueue"]!.GetValue<long>().Should().Be(2);
    }

    [Fact]
    public async Task The_visibility_api_is_forbidden_to_a_service_account_without_the_rbac_rule()
    {
        await using var env = await StartAsync(o =>
        {
            o.Components.Clear();
            o.AccessPolicy = new AccessPolicy(
            [
                new AccessRule(["*"], ["*"], "kueue.x-k8s.io"),
                new AccessRule(["*"], ["*"], ""),
                new AccessRule(["get"], ["clusterqueues/pendingworkloads"], "visibility.kueue.x-k8s.io"),
            ]);
        });
        var ns = await env.NewNamespaceAsync();
        var clusterQueue = await env.CreateQueuesAsync(ns, "team", cpu: "1");

        var (allowed, summary) = await env.GetRawAsync($"/apis/visibility.kueue.x-k8s.io/v1beta1/clusterqueues/{clusterQueue}/pendingworkloads");
        allowed.Should().Be(200);
        summary["items"]!.AsArray().Should().BeEmpty();

        var (code, status) = await env.GetRawAsync($"/apis/visibility.kueue.x-k8s.io/v1beta2/namespaces/{ns}/localqueues/team/pendingworkloads");
        code.Should().Be(403);
        status["reason"]!.GetValue<string>().Should().Be("Forbidden");
        status["message"]!.GetValue<string>().Should().Be(
            $"localqueues.visibility.kueue.x-k8s.io \"team\" is forbidden: User \"system:serviceaccount:default:test-client\" cannot get resource \"localqueues/pendingworkloads\" in API group \"visibility.kueue.x-k8s.io\" in the namespace \"{ns}\"");

        var review = await env.Client.AuthorizationV1.CreateSelfSubjectAccessReviewAsync(new k8s.Models.V1SelfSubjectAccessReview
        {
            Spec = new k8s.Models.V1SelfSubjectAccessReviewSpec
            {
                ResourceAttributes = new k8s.Models.V1ResourceAttributes
                {
                    Group = "visibility.kueue.x-k8s.io", Resource = "localqueues", Subresource = "pendingworkloads", Verb = "get", NamespaceProperty = ns,
                },
            },
        });
        review.Status.Allowed.Should().BeFalse();
    }

    [Fact]
    public async Task Queue_objects_are_validated_like_kueues_crds()
    {
        await using var env = await StartAsync(o => o.Components.Clear());
        var ns = await env.NewNamespaceAsync();

        var badStrategy = ClusterQueue("bad", "f", "1", queueingStrategy: "Random");
        var (code, status) = await RefusalAsync(() => env.CreateClusterAsync("clusterqueues", badStrategy));
        code.Should().Be(422);
        status["message"]!.GetValue<string>().Should().Be(
            "ClusterQueue.kueue.x-k8s.io \"bad\" is invalid: spec.queueingStrategy: Unsupported value: \"Random\": supported values: \"StrictFIFO\", \"BestEffortFIFO\"");

        var badQuota = ClusterQueue("bad-quota", "f", "lots");
        (code, status) = await RefusalAsync(() => env.CreateClusterAsync("clusterqueues", badQuota));
        code.Should().Be(422);
        status["message"]!.GetValue<string>().Should().StartWith(
            "ClusterQueue.kueue.x-k8s.io \"bad-quota\" is invalid: spec.resourceGroups[0].flavors[0].resources[0].nominalQuota: Invalid value: \"lots\"");

        (code, status) = await RefusalAsync(() => env.CreateLocalQueueAsync(ns, "no-target", ""));
        code.Should().Be(422);
        status["message"]!.GetValue<string>().Should().Be("LocalQueue.kueue.x-k8s.io \"no-target\" is invalid: spec.clusterQueue: Required value");

        var defaulted = ClusterQueue("defaulted", "f", "1");
        defaulted["spec"]!.AsObject().Remove("queueingStrategy");
        defaulted["spec"]!.AsObject().Remove("preemption");
        await env.CreateClusterAsync("clusterqueues", defaulted);
        var stored = await env.GetClusterAsync("clusterqueues", "defaulted");
        stored["spec"]!["queueingStrategy"]!.GetValue<string>().Should().Be("BestEffortFIFO");
        stored["spec"]!["preemption"]!["withinClusterQueue"]!.GetValue<string>().Should().Be("Never");
    }

    private static IEnumerable<string> Rows(JsonObject summary) =>
        summary["items"]!.AsArray().Select(i =>
            $"{i!["metadata"]!["ownerReferences"]![0]!["name"]} {i["localQueueName"]} {i["priority"]} {i["positionInClusterQueue"]} {i["positionInLocalQueue"]}");
}
