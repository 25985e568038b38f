using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Api;

[Collection("api")]
public sealed class PodLogTests(ApiFixture fixture)
{
    private static readonly string[] Lines =
    [
        "2026-11-28T15:01:02.123456789Z epoch 1",
        "2026-11-28T15:01:03.000000001Z epoch 2",
        "2026-11-28T15:01:04.5Z done",
    ];

    private void CreatePod(string ns, string name, string? nodeName, JsonObject? containerState, params string[] containers)
    {
        var status = new JsonObject { ["phase"] = "Running" };
        if (containerState is not null)
        {
            status["containerStatuses"] = new JsonArray(containers.Select(c => (JsonNode)new JsonObject { ["name"] = c, ["state"] = containerState.DeepClone() }).ToArray());
        }

        fixture.Cluster.Store.Create(ResourceType.Pods, ns, new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = name },
            ["spec"] = new JsonObject
            {
                ["nodeName"] = nodeName,
                ["containers"] = new JsonArray(containers.Select(c => (JsonNode)new JsonObject { ["name"] = c, ["image"] = "busybox" }).ToArray()),
            },
            ["status"] = status,
        });
    }

    private string WriteLog(string ns, string pod, string container, IEnumerable<string> lines)
    {
        var path = fixture.Cluster.Context.ContainerLogPath(ns, pod, container);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, string.Join("", lines.Select(l => l + "\n")));
        return path;
    }

    private async Task<string> ReadAsync(string ns, string pod, string? container = null, bool? follow = null, int? tailLines = null, bool? timestamps = null)
    {
        using var stream = await fixture.Client.CoreV1.ReadNamespacedPodLogAsync(pod, ns, container: container, follow: follow, tailLines: tailLines, timestamps: timestamps);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }

    [Fact]
    public async Task Logs_strip_or_keep_timestamps_and_honour_tailLines()
    {
        var ns = await fixture.NewNamespaceAsync();
        CreatePod(ns, "p", "node-1", new JsonObject { ["running"] = new JsonObject() }, "main");
        WriteLog(ns, "p", "main", Lines);

        (await ReadAsync(ns, "p")).Should().Be("epoch 1\nepoch 2\ndone\n");
        (await ReadAsync(ns, "p", timestamps: true)).Should().Be(string.Join("", Lines.Select(l => l + "\n")));
        (await ReadAsync(ns, "p", tailLines: 1)).Should().Be("done\n");
    }

    [Fact]
    public async Task Follow_streams_new_lines_until_the_container_terminates()
    {
        var ns = await fixture.NewNamespaceAsync();
        CreatePod(ns, "f", "node-1", new JsonObject { ["running"] = new JsonObject() }, "main");
        var path = WriteLog(ns, "f", "main", Lines.Take(1));

        using var stream = await fixture.Client.CoreV1.ReadNamespacedPodLogAsync("f", ns, follow: true);
        using var reader = new StreamReader(stream);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        (await reader.ReadLineAsync(cts.Token)).Should().Be("epoch 1");

        await File.AppendAllTextAsync(path, Lines[1] + "\n");
        (await reader.ReadLineAsync(cts.Token)).Should().Be("epoch 2");

        await File.AppendAllTextAsync(path, Lines[2] + "\n");
        fixture.Cluster.Store.Update(ResourceType.Pods, ns, "f", pod =>
        {
            pod["status"]!["containerStatuses"]![0]!["state"] = new JsonObject { ["terminated"] = new JsonObject { ["exitCode"] = 0, ["reason"] = "Completed" } };
            return pod;
        });
        (await reader.ReadToEndAsync(cts.Token)).Should().Be("done\n");
    }

    [Fact]
    public async Task A_multi_container_pod_needs_a_container_name()
    {
        var ns = await fixture.NewNamespaceAsync();
        CreatePod(ns, "m", "node-1", new JsonObject { ["running"] = new JsonObject() }, "a", "b");
        var read = () => ReadAsync(ns, "m");
        var error = (await read.Should().ThrowAsync<HttpOperationException>()).Which;
        ((int)error.Response.StatusCode).Should().Be(400);
        KubernetesJson.Deserialize<k8s.Models.V1Status>(error.Response.Content).Message.Should().Be("a container name must be specified for pod m, choose one of: [a b]");

        var unknown = () => ReadAsync(ns, "m", container: "c");
        (await unknown.Should().ThrowAsync<HttpOperationException>()).Which.Response.Content.Should().Contain("container c is not valid for pod m");
    }

    [Fact]
    public async Task An_unscheduled_pod_gives_an_empty_204_and_a_starting_container_a_400()
    {
        var ns = await fixture.NewNamespaceAsync();
        CreatePod(ns, "u", null, null, "main");
        (await ReadAsync(ns, "u", follow: true)).Should().BeEmpty();
        fixture.Cluster.Requests.Entries.Last(e => e.Path.EndsWith("/pods/u/log")).StatusCode.Should().Be(204);

        CreatePod(ns, "w", "node-1", new JsonObject { ["waiting"] = new JsonObject { ["reason"] = "ContainerCreating" } }, "main");
        var read = () => ReadAsync(ns, "w");
        var error = (await read.Should().ThrowAsync<HttpOperationException>()).Which;
        KubernetesJson.Deserialize<k8s.Models.V1Status>(error.Response.Content).Message.Should().Be("container \"main\" in pod \"w\" is waiting to start: ContainerCreating");
    }

    [Fact]
    public async Task SinceTime_counts_in_whole_seconds_as_the_kubelet_receives_it()
    {
        var ns = await fixture.NewNamespaceAsync();
        CreatePod(ns, "s", "node-1", new JsonObject { ["running"] = new JsonObject() }, "main");
        WriteLog(ns, "s", "main", Lines);

        // The apiserver passes sinceTime on in RFC 3339 whole seconds: 15:01:03.9 asks for everything from 15:01:03 on.
        var (status, body, _) = await fixture.SendAsync(HttpMethod.Get, $"/api/v1/namespaces/{ns}/pods/s/log?sinceTime=2026-11-28T15:01:03.9Z");
        status.Should().Be(200);
        body["text"]!.GetValue<string>().Should().Be("epoch 2\ndone\n");
    }

    [Fact]
    public async Task Negative_tail_lines_is_422_PodLogOptions()
    {
        var ns = await fixture.NewNamespaceAsync();
        CreatePod(ns, "n", "node-1", new JsonObject { ["running"] = new JsonObject() }, "main");
        var (status, body, _) = await fixture.SendAsync(HttpMethod.Get, $"/api/v1/namespaces/{ns}/pods/n/log?tailLines=-1");
        status.Should().Be(422);
        body["message"]!.GetValue<string>().Should().Be("PodLogOptions \"n\" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0");
    }
}
