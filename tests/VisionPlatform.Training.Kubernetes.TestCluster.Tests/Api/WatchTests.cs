using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Api;

[Collection("api")]
public sealed class WatchTests(ApiFixture fixture)
{
    [Fact]
    public async Task Watch_stream_is_one_compact_json_event_per_line_and_ends_at_timeoutSeconds()
    {
        var ns = await fixture.NewNamespaceAsync();
        var list = await fixture.Client.CoreV1.ListNamespacedConfigMapAsync(ns);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/namespaces/{ns}/configmaps?watch=1&resourceVersion={list.Metadata.ResourceVersion}&timeoutSeconds=3");
        using var response = await fixture.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.StatusCode.Should().Be(System.Net.HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/json");

        await fixture.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "a" } }, ns);
        var body = await response.Content.ReadAsStringAsync();

        var lines = body.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().ContainSingle();
        lines[0].Should().StartWith("""{"type":"ADDED","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a",""");
        JsonNode.Parse(lines[0])!["object"]!["metadata"]!["namespace"]!.GetValue<string>().Should().Be(ns);
    }

    [Fact]
    public async Task Client_watch_sees_added_modified_deleted_and_bookmarks()
    {
        var ns = await fixture.NewNamespaceAsync();
        var list = await fixture.Client.BatchV1.ListNamespacedJobAsync(ns);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var events = new List<(WatchEventType Type, V1Job Job)>();
        var errors = new List<Exception>();
        var watching = Task.Run(async () =>
        {
            await foreach (var (type, job) in fixture.Client.BatchV1.WatchListNamespacedJobAsync(
                ns, resourceVersion: list.Metadata.ResourceVersion, allowWatchBookmarks: true, timeoutSeconds: 6,
                onError: errors.Add, cancellationToken: cts.Token))
            {
                lock (events)
                {
                    events.Add((type, job));
                }
            }
        });

        await fixture.Client.BatchV1.CreateNamespacedJobAsync(ApiFixture.Job("w"), ns);
        await fixture.Client.BatchV1.PatchNamespacedJobAsync(new V1Patch("""{"metadata":{"labels":{"x":"y"}}}""", V1Patch.PatchType.MergePatch), "w", ns);
        await fixture.Client.BatchV1.DeleteNamespacedJobAsync("w", ns, propagationPolicy: "Background");
        await watching;

        errors.Should().BeEmpty();
        var changes = events.Where(e => e.Type != WatchEventType.Bookmark).Select(e => e.Type).ToList();
        changes.Should().Equal(WatchEventType.Added, WatchEventType.Modified, WatchEventType.Deleted);
        var bookmarks = events.Where(e => e.Type == WatchEventType.Bookmark).ToList();
        bookmarks.Should().NotBeEmpty("bookmarks come every 2 s and the watch lasts 6 s");
        bookmarks.Should().OnlyContain(b => b.Job.Metadata.Name == null && b.Job.Metadata.ResourceVersion != null);
    }

    [Fact]
    public async Task Watch_resumes_after_a_resource_version_without_replaying_earlier_events()
    {
        var ns = await fixture.NewNamespaceAsync();
        var first = await fixture.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "first" } }, ns);
        await fixture.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "second" } }, ns);

        var seen = new List<string>();
        await foreach (var (type, cm) in fixture.Client.CoreV1.WatchListNamespacedConfigMapAsync(ns, resourceVersion: first.Metadata.ResourceVersion, timeoutSeconds: 2))
        {
            seen.Add($"{type}:{cm.Metadata.Name}");
        }

        seen.Should().Equal("Added:second");
    }

    [Fact]
    public async Task Watch_without_resource_version_starts_with_the_current_objects()
    {
        var ns = await fixture.NewNamespaceAsync();
        await fixture.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "existing" } }, ns);
        var seen = new List<string>();
        await foreach (var (type, cm) in fixture.Client.CoreV1.WatchListNamespacedConfigMapAsync(ns, timeoutSeconds: 2))
        {
            seen.Add($"{type}:{cm.Metadata.Name}");
        }

        seen.Should().Equal("Added:existing");
    }

    [Fact]
    public async Task An_object_leaving_the_label_selector_is_reported_as_deleted()
    {
        var ns = await fixture.NewNamespaceAsync();
        var created = await fixture.Client.CoreV1.CreateNamespacedConfigMapAsync(
            new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "a", Labels = new Dictionary<string, string> { ["app"] = "x" } } }, ns);
        var seen = new List<string>();
        var watching = Task.Run(async () =>
        {
            await foreach (var (type, cm) in fixture.Client.CoreV1.WatchListNamespacedConfigMapAsync(ns, labelSelector: "app=x", resourceVersion: created.Metadata.ResourceVersion, timeoutSeconds: 3))
            {
                seen.Add($"{type}:{cm.Metadata.Labels?["app"]}");
            }
        });
        await fixture.Client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"metadata":{"labels":{"app":"z"}}}""", V1Patch.PatchType.MergePatch), "a", ns);
        await fixture.Client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"metadata":{"labels":{"app":"x"}}}""", V1Patch.PatchType.MergePatch), "a", ns);
        await watching;

        seen.Should().Equal("Deleted:z", "Added:x");
    }

    [Fact]
    public async Task Expired_resource_version_reaches_onError_as_410_and_the_watch_ends_normally()
    {
        await using var cluster = await ApiFixture.StartAsync();
        using var client = cluster.CreateClient();
        var old = await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "a" } }, "default");
        await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "b" } }, "default");
        cluster.Faults.ExpireWatchHistory();

        var errors = new List<Exception>();
        var events = 0;
        await foreach (var _ in client.CoreV1.WatchListNamespacedConfigMapAsync("default", resourceVersion: old.Metadata.ResourceVersion, timeoutSeconds: 30, onError: errors.Add))
        {
            events++;
        }

        events.Should().Be(0);
        var error = errors.Should().ContainSingle().Which.Should().BeOfType<KubernetesException>().Which;
        error.Status.Code.Should().Be(410);
        error.Status.Reason.Should().Be("Expired");
        error.Status.Message.Should().Be($"too old resource version: {old.Metadata.ResourceVersion} ({cluster.Store.ResourceVersion})");
    }

    [Fact]
    public async Task Expired_watch_is_an_error_line_in_a_200_stream()
    {
        await using var cluster = await ApiFixture.StartAsync(o => o.WatchHistorySize = 1);
        using var http = new HttpClient { BaseAddress = cluster.Url };
        using var client = cluster.CreateClient();
        for (var i = 0; i < 3; i++)
        {
            await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = $"c{i}" } }, "default");
        }

        using var response = await http.GetAsync("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1");
        response.StatusCode.Should().Be(System.Net.HttpStatusCode.OK);
        var line = (await response.Content.ReadAsStringAsync()).TrimEnd('\n');
        line.Should().MatchRegex("""^\{"type":"ERROR","object":\{"kind":"Status","apiVersion":"v1","metadata":\{\},"status":"Failure","message":"too old resource version: 1 \(\d+\)","reason":"Expired","code":410\}\}$""");
    }

    [Fact]
    public async Task Send_initial_events_ends_the_initial_state_with_an_annotated_bookmark()
    {
        var ns = await fixture.NewNamespaceAsync();
        await fixture.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "a" } }, ns);
        using var response = await fixture.Http.GetAsync($"/api/v1/namespaces/{ns}/configmaps?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=1");
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();

        lines[0]["type"]!.GetValue<string>().Should().Be("ADDED");
        lines[1]["type"]!.GetValue<string>().Should().Be("BOOKMARK");
        lines[1]["object"]!["metadata"]!["annotations"]!["k8s.io/initial-events-end"]!.GetValue<string>().Should().Be("true");
        lines[1]["object"]!["kind"]!.GetValue<string>().Should().Be("ConfigMap");
    }
}
