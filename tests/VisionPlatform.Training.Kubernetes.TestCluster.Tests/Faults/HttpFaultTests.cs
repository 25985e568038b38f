using k8s;
using k8s.Autorest;
using k8s.Models;
using VisionPlatform.Training.Kubernetes.TestCluster.Tests.Api;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Faults;

public sealed class HttpFaultTests
{
    [Fact]
    public async Task Next_request_fails_with_500_then_the_same_call_succeeds()
    {
        await using var cluster = await ApiFixture.StartAsync();
        using var client = cluster.CreateClient();
        cluster.Faults.FailNext(1, 500, r => r.Resource == "jobs" && r.Verb == "list");

        var first = () => client.BatchV1.ListNamespacedJobAsync("default");
        var error = (await first.Should().ThrowAsync<HttpOperationException>()).Which;
        error.Response.StatusCode.Should().Be(System.Net.HttpStatusCode.InternalServerError);
        KubernetesJson.Deserialize<V1Status>(error.Response.Content).Reason.Should().Be("InternalError");

        (await client.BatchV1.ListNamespacedJobAsync("default")).Items.Should().BeEmpty();
        cluster.Requests.CountWhere(e => e.Verb == "list" && e.Resource == "jobs").Should().Be(2);
        cluster.Requests.CountWhere(e => e.StatusCode == 500).Should().Be(1);
    }

    [Fact]
    public async Task Throttled_request_is_429_with_retry_after()
    {
        await using var cluster = await ApiFixture.StartAsync();
        using var http = new HttpClient { BaseAddress = cluster.Url };
        cluster.Faults.FailNext(2, 429, retryAfterSeconds: 3);

        using var first = await http.GetAsync("/api/v1/namespaces");
        ((int)first.StatusCode).Should().Be(429);
        first.Headers.RetryAfter!.Delta.Should().Be(TimeSpan.FromSeconds(3));
        using var second = await http.GetAsync("/api/v1/namespaces");
        ((int)second.StatusCode).Should().Be(429);
        using var third = await http.GetAsync("/api/v1/namespaces");
        third.IsSuccessStatusCode.Should().BeTrue();
    }

    [Fact]
    public async Task Service_unavailable_carries_a_status_body()
    {
        await using var cluster = await ApiFixture.StartAsync();
        using var http = new HttpClient { BaseAddress = cluster.Url };
        cluster.Faults.FailNext(1, 503, retryAfterSeconds: 1);
        using var response = await http.GetAsync("/apis/batch/v1/namespaces/default/jobs");
        ((int)response.StatusCode).Should().Be(503);
        (await response.Content.ReadAsStringAsync()).Should().Contain("\"reason\":\"ServiceUnavailable\"").And.Contain("\"code\":503");
    }

    [Fact]
    public async Task Delayed_responses_arrive_after_the_delay()
    {
        await using var cluster = await ApiFixture.StartAsync();
        using var client = cluster.CreateClient();
        cluster.Faults.DelayNext(1, TimeSpan.FromMilliseconds(500));
        var started = DateTime.UtcNow;
        await client.CoreV1.ListNamespaceAsync();
        (DateTime.UtcNow - started).Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(450));
    }

    [Fact]
    public async Task Refused_connections_fail_until_the_server_listens_again_on_the_same_port()
    {
        await using var cluster = await ApiFixture.StartAsync();
        using var client = cluster.CreateClient();
        var url = cluster.Url;
        await cluster.Faults.RefuseConnectionsAsync();
        cluster.Faults.RefusingConnections.Should().BeTrue();

        var refused = () => client.CoreV1.ListNamespaceAsync();
        await refused.Should().ThrowAsync<HttpRequestException>();

        await cluster.Faults.AcceptConnectionsAsync();
        cluster.Url.Should().Be(url);
        (await client.CoreV1.ListNamespaceAsync()).Items.Should().NotBeEmpty();
    }

    [Fact]
    public async Task Dropping_watches_cuts_an_open_stream()
    {
        await using var cluster = await ApiFixture.StartAsync();
        using var client = cluster.CreateClient();
        await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "a" } }, "default");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var received = new TaskCompletionSource();
        Exception? failure = null;
        var watching = Task.Run(async () =>
        {
            try
            {
                await foreach (var _ in client.CoreV1.WatchListNamespacedConfigMapAsync("default", timeoutSeconds: 300, cancellationToken: cts.Token))
                {
                    received.TrySetResult();
                }
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        });

        await received.Task.WaitAsync(cts.Token);
        cluster.Faults.OpenWatches.Should().Be(1);
        cluster.Faults.DropWatches().Should().Be(1);
        await watching.WaitAsync(cts.Token);

        cts.IsCancellationRequested.Should().BeFalse("the watch ended because the connection dropped, not by timeout");
        failure.Should().NotBeNull("an aborted chunked stream surfaces as an I/O error in the client");
    }

    [Fact]
    public async Task Stalling_watches_silences_an_open_stream_without_closing_it_and_spares_new_watches()
    {
        await using var cluster = await ApiFixture.StartAsync();
        using var client = cluster.CreateClient();
        await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "a" } }, "default");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var names = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var first = new TaskCompletionSource();
        var stalled = Task.Run(async () =>
        {
            try
            {
                await foreach (var (_, item) in client.CoreV1.WatchListNamespacedConfigMapAsync("default", allowWatchBookmarks: true, timeoutSeconds: 1, cancellationToken: cts.Token))
                {
                    names.Enqueue(item.Metadata.Name ?? "bookmark");
                    first.TrySetResult();
                }
            }
            catch (OperationCanceledException)
            {
            }
        });

        await first.Task.WaitAsync(cts.Token);
        cluster.Faults.StallWatches().Should().Be(1);
        await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "b" } }, "default");

        var fresh = new List<string>();
        await foreach (var (_, item) in client.CoreV1.WatchListNamespacedConfigMapAsync("default", resourceVersion: "0", timeoutSeconds: 300, cancellationToken: cts.Token))
        {
            fresh.Add(item.Metadata.Name);
            if (fresh.Contains("b"))
            {
                break;
            }
        }

        await Task.Delay(TimeSpan.FromSeconds(2), cts.Token);
        stalled.IsCompleted.Should().BeFalse("a stalled stream ends neither by timeoutSeconds (1 s) nor by closing");
        names.Should().NotContain("b", "nothing reaches a stalled watch");
        await cts.CancelAsync();
        await stalled;
    }

    [Fact]
    public async Task Request_log_records_method_path_query_and_status_and_can_be_cleared()
    {
        await using var cluster = await ApiFixture.StartAsync();
        using var client = cluster.CreateClient();
        await client.BatchV1.ListNamespacedJobAsync("default", labelSelector: "app=x");
        var readMissing = () => client.BatchV1.ReadNamespacedJobAsync("nope", "default");
        await readMissing.Should().ThrowAsync<HttpOperationException>();

        var entries = cluster.Requests.Entries;
        entries.Should().HaveCount(2);
        entries[0].Method.Should().Be("GET");
        entries[0].Path.Should().Be("/apis/batch/v1/namespaces/default/jobs");
        entries[0].Query.Should().Contain("labelSelector=app%3Dx").And.Contain("watch=false");
        entries[0].StatusCode.Should().Be(200);
        entries[0].Verb.Should().Be("list");
        entries[1].Verb.Should().Be("get");
        entries[1].StatusCode.Should().Be(404);

        cluster.Requests.Clear();
        cluster.Requests.Count.Should().Be(0);
    }
}
