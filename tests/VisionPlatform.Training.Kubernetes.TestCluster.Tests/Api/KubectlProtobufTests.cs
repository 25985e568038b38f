using System.Text;
using System.Text.Json.Nodes;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Api;

/// <summary>
/// kubectl's typed commands (create namespace, configmap, secret, serviceaccount, role, rolebinding; auth can-i) send
/// protobuf bodies. The test cluster decodes them into the same objects their JSON form (kubectl create -f) makes.
/// </summary>
[Collection("api")]
public sealed class KubectlProtobufTests(ApiFixture fixture) : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("vp-kubectl-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    [Fact]
    public async Task The_typed_create_commands_the_cluster_setup_prints_work_and_store_what_their_json_would()
    {
        var ns = "kp-" + Guid.NewGuid().ToString("N")[..8];
        (await Kubectl("create", "namespace", ns)).Should().Be($"namespace/{ns} created");

        // Each typed command (protobuf) beside the same object sent as JSON by `kubectl create -f` under another name.
        string[][] commands =
        [
            ["create", "configmap", "{0}", "-n", ns, "--from-literal=api-url=http://backend:8000", "--from-literal=empty="],
            ["create", "secret", "generic", "{0}", "-n", ns, "--from-literal=access-key=AKIA", "--from-literal=secret-key=s3cr3t", "--type=Opaque"],
            ["create", "serviceaccount", "{0}", "-n", ns],
            ["create", "role", "{0}", "-n", ns, "--verb=get,list,watch", "--resource=pods,pods/log,jobs.batch"],
            ["create", "rolebinding", "{0}", "-n", ns, "--role=trainer", "--serviceaccount=" + ns + ":backend", "--user=alice"],
        ];
        foreach (var command in commands)
        {
            var typed = command.Select(a => a.Replace("{0}", "typed", StringComparison.Ordinal)).ToArray();
            var viaJson = command.Select(a => a.Replace("{0}", "json", StringComparison.Ordinal)).ToArray();
            (await Kubectl(typed)).Should().EndWith("/typed created");
            var manifest = Path.Combine(_home, command[1] + ".json");
            await File.WriteAllTextAsync(manifest, await Kubectl([.. viaJson, "--dry-run=client", "-o", "json"]));
            (await Kubectl("create", "-f", manifest)).Should().EndWith("/json created");

            var resource = command[1] == "secret" ? "secret" : command[1];
            var fromProtobuf = Comparable(await Kubectl("get", resource, "typed", "-n", ns, "-o", "json"));
            var fromJson = Comparable(await Kubectl("get", resource, "json", "-n", ns, "-o", "json"));
            fromProtobuf.Should().Be(fromJson, $"kubectl {string.Join(' ', typed)} stores the same object as its JSON form");
        }

        var secret = JsonNode.Parse(await Kubectl("get", "secret", "typed", "-n", ns, "-o", "json"))!;
        Encoding.UTF8.GetString(Convert.FromBase64String((string)secret["data"]!["secret-key"]!)).Should().Be("s3cr3t");
        var binding = JsonNode.Parse(await Kubectl("get", "rolebinding", "typed", "-n", ns, "-o", "json"))!;
        binding["subjects"]!.AsArray().Select(s => $"{s!["kind"]}:{s["name"]}").Should().BeEquivalentTo("ServiceAccount:backend", "User:alice");
        binding["roleRef"]!.ToJsonString().Should().Be("""{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"trainer"}""");

        (await Kubectl("auth", "can-i", "create", "jobs.batch", "-n", ns)).Should().Be("yes");
        (await Kubectl("delete", "configmap", "typed", "-n", ns)).Should().Be("configmap \"typed\" deleted");
        (await Kubectl("delete", "namespace", ns)).Should().Be($"namespace \"{ns}\" deleted");
    }

    [Fact]
    public async Task A_protobuf_body_that_does_not_decode_is_a_400_naming_the_kind_and_the_problem()
    {
        var ns = await fixture.NewNamespaceAsync();
        using var truncated = new ByteArrayContent([(byte)'k', (byte)'8', (byte)'s', 0, 0x12, 0x7F, 0x01]);
        truncated.Headers.ContentType = new("application/vnd.kubernetes.protobuf");

        using var response = await fixture.Http.PostAsync($"/api/v1/namespaces/{ns}/configmaps", truncated);

        ((int)response.StatusCode).Should().Be(400);
        var status = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        ((string)status["message"]!).Should().Be("ConfigMap in version \"v1\" cannot be handled as a ConfigMap: proto: a length-delimited field runs past the end of the data");
    }

    [Fact]
    public async Task A_protobuf_body_of_a_kind_the_cluster_does_not_decode_says_to_send_json()
    {
        var ns = await fixture.NewNamespaceAsync();
        // runtime.Unknown { typeMeta { apiVersion "batch/v1", kind "Job" }, raw "" }
        byte[] envelope = [(byte)'k', (byte)'8', (byte)'s', 0, 0x0A, 0x0F, 0x0A, 0x08, .. "batch/v1"u8, 0x12, 0x03, .. "Job"u8, 0x12, 0x00];
        using var body = new ByteArrayContent(envelope);
        body.Headers.ContentType = new("application/vnd.kubernetes.protobuf");

        using var response = await fixture.Http.PostAsync($"/apis/batch/v1/namespaces/{ns}/jobs", body);

        ((int)response.StatusCode).Should().Be(400);
        var status = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        ((string)status["message"]!).Should().Be("Job in version \"batch/v1\" cannot be handled as a Job: the test cluster does not decode protobuf bodies of kind Job; send it as application/json");
    }

    /// <summary>The object without what differs between two creations (name, uid, resourceVersion, time, kubectl's annotation).</summary>
    private static string Comparable(string json)
    {
        var node = JsonNode.Parse(json)!.AsObject();
        var metadata = node["metadata"]!.AsObject();
        foreach (var key in new[] { "name", "uid", "resourceVersion", "creationTimestamp" })
        {
            metadata.Remove(key);
        }

        return node.ToJsonString();
    }

    private Task<string> Kubectl(params string[] arguments) => TestSupport.Kubectl.RunAsync(fixture.Cluster.WriteKubeconfig(), _home, arguments);
}
