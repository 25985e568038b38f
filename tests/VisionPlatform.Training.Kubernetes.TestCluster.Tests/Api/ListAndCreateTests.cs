using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Api;

[Collection("api")]
public sealed class ListAndCreateTests(ApiFixture fixture)
{
    [Fact]
    public async Task Create_returns_201_with_server_defaults_and_get_has_kind_but_list_items_do_not()
    {
        var ns = await fixture.NewNamespaceAsync();
        var json = """{"metadata":{"generateName":"train-"},"spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"main","image":"busybox","resources":{"limits":{"cpu":"0.5","memory":"1.5Gi","nvidia.com/gpu":"1"}}}]}}}}""";
        var (status, created, _) = await fixture.SendAsync(HttpMethod.Post, $"/apis/batch/v1/namespaces/{ns}/jobs", json);

        status.Should().Be(201);
        var name = created["metadata"]!["name"]!.GetValue<string>();
        name.Should().MatchRegex("^train-[bcdfghjklmnpqrstvwxz2456789]{5}$");
        var uid = created["metadata"]!["uid"]!.GetValue<string>();
        var spec = created["spec"]!;
        spec["backoffLimit"]!.GetValue<int>().Should().Be(6);
        spec["completions"]!.GetValue<int>().Should().Be(1);
        spec["parallelism"]!.GetValue<int>().Should().Be(1);
        spec["completionMode"]!.GetValue<string>().Should().Be("NonIndexed");
        spec["suspend"]!.GetValue<bool>().Should().BeFalse();
        spec["manualSelector"]!.GetValue<bool>().Should().BeFalse();
        spec["podReplacementPolicy"]!.GetValue<string>().Should().Be("TerminatingOrFailed");
        spec["selector"]!.ToJsonString().Should().Be("""{"matchLabels":{"batch.kubernetes.io/controller-uid":"UID"}}""".Replace("UID", uid, StringComparison.Ordinal));
        var labels = spec["template"]!["metadata"]!["labels"]!.AsObject();
        labels["job-name"]!.GetValue<string>().Should().Be(name);
        labels["batch.kubernetes.io/job-name"]!.GetValue<string>().Should().Be(name);
        labels["controller-uid"]!.GetValue<string>().Should().Be(uid);
        created["metadata"]!["labels"]!.AsObject().Count.Should().Be(4, "a Job without labels shows the template's labels, as read back from storage");
        var podSpec = spec["template"]!["spec"]!;
        podSpec["dnsPolicy"]!.GetValue<string>().Should().Be("ClusterFirst");
        podSpec["schedulerName"]!.GetValue<string>().Should().Be("default-scheduler");
        podSpec["terminationGracePeriodSeconds"]!.GetValue<int>().Should().Be(30);
        podSpec["securityContext"]!.ToJsonString().Should().Be("{}");
        var container = podSpec["containers"]![0]!;
        container["imagePullPolicy"]!.GetValue<string>().Should().Be("Always");
        container["terminationMessagePath"]!.GetValue<string>().Should().Be("/dev/termination-log");
        container["terminationMessagePolicy"]!.GetValue<string>().Should().Be("File");
        container["resources"]!.ToJsonString().Should().Be("""{"limits":{"cpu":"500m","memory":"1536Mi","nvidia.com/gpu":"1"}}""");
        created["status"]!.ToJsonString().Should().Be("{}");

        var (_, got, _) = await fixture.SendAsync(HttpMethod.Get, $"/apis/batch/v1/namespaces/{ns}/jobs/{name}");
        got["kind"]!.GetValue<string>().Should().Be("Job");
        got["apiVersion"]!.GetValue<string>().Should().Be("batch/v1");

        var (_, list, _) = await fixture.SendAsync(HttpMethod.Get, $"/apis/batch/v1/namespaces/{ns}/jobs?watch=false");
        list["kind"]!.GetValue<string>().Should().Be("JobList");
        list["apiVersion"]!.GetValue<string>().Should().Be("batch/v1");
        list["metadata"]!["resourceVersion"]!.GetValue<string>().Should().NotBeNullOrEmpty();
        var item = list["items"]![0]!.AsObject();
        item.ContainsKey("kind").Should().BeFalse();
        item.ContainsKey("apiVersion").Should().BeFalse();
    }

    [Fact]
    public async Task Label_selectors_support_every_operator()
    {
        var ns = await fixture.NewNamespaceAsync();
        await CreateConfigMap(ns, "a", new() { ["app"] = "x", ["team"] = "red" });
        await CreateConfigMap(ns, "b", new() { ["app"] = "x", ["team"] = "blue" });
        await CreateConfigMap(ns, "c", new() { ["app"] = "y" });

        async Task<string[]> Names(string selector) =>
            (await fixture.Client.CoreV1.ListNamespacedConfigMapAsync(ns, labelSelector: selector)).Items.Select(i => i.Metadata.Name).Order().ToArray();

        (await Names("app=x")).Should().Equal("a", "b");
        (await Names("app==x")).Should().Equal("a", "b");
        (await Names("app!=x")).Should().Equal("c");
        (await Names("team in (red,green)")).Should().Equal("a");
        (await Names("team notin (red)")).Should().Equal("b", "c");
        (await Names("team")).Should().Equal("a", "b");
        (await Names("!team")).Should().Equal("c");
        (await Names("app=x,team!=red")).Should().Equal("b");
    }

    [Fact]
    public async Task Field_selectors_filter_pods_and_unknown_fields_are_400()
    {
        var ns = await fixture.NewNamespaceAsync();
        foreach (var (name, phase, node) in new[] { ("p1", "Running", "node-1"), ("p2", "Succeeded", "node-1"), ("p3", "Pending", "") })
        {
            fixture.Cluster.Store.Create(VisionPlatform.Training.Kubernetes.TestCluster.Store.ResourceType.Pods, ns, new JsonObject
            {
                ["metadata"] = new JsonObject { ["name"] = name },
                ["spec"] = new JsonObject { ["nodeName"] = node, ["containers"] = new JsonArray(new JsonObject { ["name"] = "main", ["image"] = "busybox" }) },
                ["status"] = new JsonObject { ["phase"] = phase },
            });
        }

        async Task<string[]> Names(string selector) =>
            (await fixture.Client.CoreV1.ListNamespacedPodAsync(ns, fieldSelector: selector)).Items.Select(i => i.Metadata.Name).Order().ToArray();

        (await Names("status.phase=Running")).Should().Equal("p1");
        (await Names("status.phase!=Running")).Should().Equal("p2", "p3");
        (await Names("spec.nodeName=node-1,metadata.name!=p1")).Should().Equal("p2");
        (await Names("metadata.namespace=" + ns)).Should().HaveCount(3);

        var (status, body, _) = await fixture.SendAsync(HttpMethod.Get, $"/api/v1/namespaces/{ns}/pods?fieldSelector=spec.foo%3Dbar");
        status.Should().Be(400);
        body["message"]!.GetValue<string>().Should().Be("field label not supported: spec.foo");
    }

    [Fact]
    public async Task Limit_and_continue_page_through_a_list()
    {
        var ns = await fixture.NewNamespaceAsync();
        for (var i = 0; i < 5; i++)
        {
            await CreateConfigMap(ns, $"cm-{i}", new() { ["app"] = "x" });
        }

        var names = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await fixture.Client.CoreV1.ListNamespacedConfigMapAsync(ns, limit: 2, continueParameter: token);
            names.AddRange(page.Items.Select(i => i.Metadata.Name));
            token = page.Metadata.ContinueProperty;
            if (token is not null)
            {
                page.Metadata.RemainingItemCount.Should().Be(5 - names.Count);
            }

            pages++;
        }
        while (!string.IsNullOrEmpty(token));

        pages.Should().Be(3);
        names.Should().Equal("cm-0", "cm-1", "cm-2", "cm-3", "cm-4");
    }

    [Fact]
    public async Task Status_subresource_reads_the_job_and_put_status_changes_only_status()
    {
        var ns = await fixture.NewNamespaceAsync();
        await fixture.Client.BatchV1.CreateNamespacedJobAsync(ApiFixture.Job("s"), ns);
        var job = await fixture.Client.BatchV1.ReadNamespacedJobStatusAsync("s", ns);
        job.Status = new V1JobStatus { Active = 1 };
        job.Spec.Parallelism = 5;
        var updated = await fixture.Client.BatchV1.ReplaceNamespacedJobStatusAsync(job, "s", ns);

        updated.Status.Active.Should().Be(1);
        updated.Spec.Parallelism.Should().Be(1);
        updated.Metadata.Generation.Should().Be(1);
    }

    [Fact]
    public async Task Merge_patch_changes_labels_and_bumps_the_resource_version()
    {
        var ns = await fixture.NewNamespaceAsync();
        var created = await fixture.Client.BatchV1.CreateNamespacedJobAsync(ApiFixture.Job("p", labels: new Dictionary<string, string> { ["app"] = "x" }), ns);
        var patched = await fixture.Client.BatchV1.PatchNamespacedJobAsync(
            new V1Patch("""{"metadata":{"labels":{"team":"red"}}}""", V1Patch.PatchType.MergePatch), "p", ns);

        patched.Metadata.Labels.Should().Contain("team", "red").And.Contain("app", "x");
        long.Parse(patched.Metadata.ResourceVersion).Should().BeGreaterThan(long.Parse(created.Metadata.ResourceVersion));
    }

    [Fact]
    public async Task A_merge_patch_carrying_uid_and_resource_version_is_a_precondition()
    {
        var ns = await fixture.NewNamespaceAsync();
        var created = await fixture.Client.BatchV1.CreateNamespacedJobAsync(ApiFixture.Job("pre"), ns);
        string Body(string uid, string rv) =>
            $$$"""{"metadata":{"uid":"{{{uid}}}","resourceVersion":"{{{rv}}}","annotations":{"stopped":"yes"}},"spec":{"activeDeadlineSeconds":0}}""";

        // Another uid (the Job was replaced under the same name): BeforeUpdate's ValidateObjectMetaUpdate refuses it.
        var (status, body, _) = await fixture.SendAsync(HttpMethod.Patch, $"/apis/batch/v1/namespaces/{ns}/jobs/pre",
            Body(Guid.NewGuid().ToString(), created.Metadata.ResourceVersion), "application/merge-patch+json");
        status.Should().Be(422);
        body["message"]!.GetValue<string>().Should().Contain("metadata.uid").And.Contain("field is immutable");

        // A stale resourceVersion conflicts before anything else is looked at.
        await fixture.Client.BatchV1.PatchNamespacedJobAsync(new V1Patch("""{"metadata":{"labels":{"x":"y"}}}""", V1Patch.PatchType.MergePatch), "pre", ns);
        (status, body, _) = await fixture.SendAsync(HttpMethod.Patch, $"/apis/batch/v1/namespaces/{ns}/jobs/pre",
            Body(created.Metadata.Uid, created.Metadata.ResourceVersion), "application/merge-patch+json");
        status.Should().Be(409);
        body["reason"]!.GetValue<string>().Should().Be("Conflict");

        // Current uid and resourceVersion: applied; activeDeadlineSeconds is mutable on a Job (only completions, selector,
        // completionMode, podFailurePolicy, backoffLimitPerIndex, managedBy and the template are not).
        var current = await fixture.Client.BatchV1.ReadNamespacedJobAsync("pre", ns);
        var patched = await fixture.Client.BatchV1.PatchNamespacedJobAsync(
            new V1Patch(Body(current.Metadata.Uid, current.Metadata.ResourceVersion), V1Patch.PatchType.MergePatch), "pre", ns);
        patched.Spec.ActiveDeadlineSeconds.Should().Be(0);
        patched.Metadata.Annotations.Should().Contain("stopped", "yes");
        patched.Metadata.Generation.Should().Be(2);
    }

    [Fact]
    public async Task Discovery_and_version_answer_for_kubectl()
    {
        var (_, version, _) = await fixture.SendAsync(HttpMethod.Get, "/version");
        version["gitVersion"]!.GetValue<string>().Should().StartWith("v1.");
        var (_, core, _) = await fixture.SendAsync(HttpMethod.Get, "/api/v1");
        core["resources"]!.AsArray().Select(r => r!["name"]!.GetValue<string>()).Should().Contain(["pods", "pods/log", "secrets", "configmaps", "namespaces"]);
        var (_, groups, _) = await fixture.SendAsync(HttpMethod.Get, "/apis");
        groups["groups"]!.AsArray().Select(g => g!["name"]!.GetValue<string>()).Should().Contain(["batch", "rbac.authorization.k8s.io", "authorization.k8s.io"]);
        var (_, batch, _) = await fixture.SendAsync(HttpMethod.Get, "/apis/batch/v1");
        batch["resources"]!.AsArray().Select(r => r!["name"]!.GetValue<string>()).Should().Contain(["jobs", "jobs/status"]);
    }

    private Task<V1ConfigMap> CreateConfigMap(string ns, string name, Dictionary<string, string> labels) =>
        fixture.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = name, Labels = labels } }, ns);
}
