using System.Globalization;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Api;

/// <summary>
/// Server-side printing: a GET (one object or a list) or a watch whose Accept header asks for
/// <c>application/json;as=Table;g=meta.k8s.io;v=v1</c> is answered with a meta.k8s.io Table, as kubectl get expects.
/// </summary>
[Collection("api")]
public sealed class TableTests(ApiFixture fixture)
{
    private const string KubectlAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

    [Theory]
    [InlineData(KubectlAccept, "Table", "meta.k8s.io/v1")]
    [InlineData("application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json", "Table", "meta.k8s.io/v1beta1")]
    [InlineData("application/json", "ConfigMapList", "v1")]
    [InlineData("application/vnd.kubernetes.protobuf,application/json", "ConfigMapList", "v1")]
    [InlineData("application/json;as=Table;g=meta.k8s.io;v=v1;q=0.5,application/json", "ConfigMapList", "v1")]
    [InlineData("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=Table;g=meta.k8s.io;v=v1", "Table", "meta.k8s.io/v1")]
    [InlineData("application/yaml;as=Table;g=meta.k8s.io;v=v1,application/json", "ConfigMapList", "v1")]
    [InlineData("*/*;as=Table;g=meta.k8s.io;v=v1", "Table", "meta.k8s.io/v1")]
    [InlineData("application/json;as=Table;g=meta.k8s.io;v=v2,application/json", "ConfigMapList", "v1")]
    [InlineData("", "ConfigMapList", "v1")]
    public async Task The_first_acceptable_entry_of_the_accept_header_decides_between_a_table_and_the_plain_list(string accept, string kind, string apiVersion)
    {
        var ns = await fixture.NewNamespaceAsync();

        var body = await GetAsync($"/api/v1/namespaces/{ns}/configmaps", accept);

        ((string)body["kind"]!, (string)body["apiVersion"]!).Should().Be((kind, apiVersion));
    }

    [Fact]
    public async Task A_job_table_has_the_printers_columns_and_a_row_per_job_with_its_metadata()
    {
        var ns = await fixture.NewNamespaceAsync();
        await fixture.Client.BatchV1.CreateNamespacedJobAsync(ApiFixture.Job("train"), ns);
        var started = DateTimeOffset.UtcNow.AddMinutes(-4);
        SetStatus(ResourceType.Jobs, ns, "train", new JsonObject
        {
            ["startTime"] = Json.FormatTime(started),
            ["completionTime"] = Json.FormatTime(started.AddSeconds(192)),
            ["succeeded"] = 1,
            ["conditions"] = new JsonArray(
                new JsonObject { ["type"] = "SuccessCriteriaMet", ["status"] = "True" },
                new JsonObject { ["type"] = "Complete", ["status"] = "True" }),
        });

        var table = await GetAsync($"/apis/batch/v1/namespaces/{ns}/jobs", KubectlAccept);

        table["metadata"]!["resourceVersion"]!.GetValue<string>().Should().NotBeNullOrEmpty();
        var columns = table["columnDefinitions"]!.AsArray().Select(c => c!.AsObject()).ToList();
        columns.Select(c => $"{c["name"]}:{c["type"]}:{c["priority"]}").Should().Equal(
            "Name:string:0", "Status:string:0", "Completions:string:0", "Duration:string:0", "Age:string:0",
            "Containers:string:1", "Images:string:1", "Selector:string:1");
        columns[0]["format"]!.GetValue<string>().Should().Be("name");
        columns[1]["format"]!.GetValue<string>().Should().BeEmpty("every field of a column definition is written");
        columns.Should().OnlyContain(c => ((string)c["description"]!).Length > 0);

        var row = table["rows"]!.AsArray().Single()!.AsObject();
        var cells = row["cells"]!.AsArray().Select(c => c!.GetValue<string>()).ToList();
        cells[..4].Should().Equal("train", "Complete", "1/1", "3m12s");
        cells[5..7].Should().Equal("main", "busybox:1.36");
        cells[7].Should().StartWith("batch.kubernetes.io/controller-uid=");
        var included = row["object"]!.AsObject();
        ((string)included["kind"]!, (string)included["apiVersion"]!).Should().Be(("PartialObjectMetadata", "meta.k8s.io/v1"));
        ((string)included["metadata"]!["name"]!).Should().Be("train");
        included["metadata"]!["labels"]!["job-name"]!.GetValue<string>().Should().Be("train");
        included.ContainsKey("spec").Should().BeFalse();
    }

    [Fact]
    public async Task Include_object_chooses_metadata_the_whole_object_or_nothing_and_refuses_other_values()
    {
        var ns = await fixture.NewNamespaceAsync();
        await fixture.Client.CoreV1.CreateNamespacedConfigMapAsync(
            new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "cfg" }, Data = new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" } }, ns);
        var path = $"/api/v1/namespaces/{ns}/configmaps/cfg";

        var whole = (await GetAsync(path + "?includeObject=Object", KubectlAccept))["rows"]![0]!["object"]!;
        ((string)whole["kind"]!, (string)whole["apiVersion"]!, (string)whole["data"]!["b"]!).Should().Be(("ConfigMap", "v1", "2"));

        var none = (await GetAsync(path + "?includeObject=None", KubectlAccept))["rows"]![0]!.AsObject();
        none.ContainsKey("object").Should().BeFalse();
        none["cells"]!.AsArray().Select(c => c!.ToJsonString()).Take(2).Should().Equal("\"cfg\"", "2");

        using var request = new HttpRequestMessage(HttpMethod.Get, path + "?includeObject=Everything");
        request.Headers.TryAddWithoutValidation("Accept", KubectlAccept);
        using var response = await fixture.Http.SendAsync(request);
        ((int)response.StatusCode).Should().Be(400);
        var status = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        ((string)status["message"]!).Should().Be("unrecognized includeObject value: \"Everything\"");
    }

    [Fact]
    public async Task A_table_of_one_object_carries_its_resource_version_and_a_paged_list_its_continue_token()
    {
        var ns = await fixture.NewNamespaceAsync();
        foreach (var name in new[] { "a", "b", "c" })
        {
            await fixture.Client.CoreV1.CreateNamespacedSecretAsync(
                new V1Secret { Metadata = new V1ObjectMeta { Name = name }, Type = "Opaque", StringData = new Dictionary<string, string> { ["k"] = "v" } }, ns);
        }

        var one = await GetAsync($"/api/v1/namespaces/{ns}/secrets/b", KubectlAccept);
        var stored = await fixture.Client.CoreV1.ReadNamespacedSecretAsync("b", ns);
        one["metadata"]!.ToJsonString().Should().Be($$"""{"resourceVersion":"{{stored.Metadata.ResourceVersion}}"}""");
        one["rows"]![0]!["cells"]!.AsArray().Select(c => c!.ToJsonString()).Take(3).Should().Equal("\"b\"", "\"Opaque\"", "1");

        var page = await GetAsync($"/api/v1/namespaces/{ns}/secrets?limit=2", KubectlAccept);
        page["rows"]!.AsArray().Should().HaveCount(2);
        page["metadata"]!["continue"]!.GetValue<string>().Should().NotBeNullOrEmpty();
        page["metadata"]!["remainingItemCount"]!.GetValue<long>().Should().Be(1);
        var rest = await GetAsync($"/api/v1/namespaces/{ns}/secrets?limit=2&continue={Uri.EscapeDataString((string)page["metadata"]!["continue"]!)}", KubectlAccept);
        rest["rows"]!.AsArray().Select(r => (string)r!["cells"]![0]!).Should().Equal("c");
    }

    [Fact]
    public async Task Kinds_without_a_printer_get_the_default_table_of_name_and_creation_time()
    {
        var ns = await fixture.NewNamespaceAsync();
        var role = await fixture.Client.RbacAuthorizationV1.CreateNamespacedRoleAsync(new V1Role
        {
            Metadata = new V1ObjectMeta { Name = "reader" },
            Rules = [new V1PolicyRule { ApiGroups = [""], Resources = ["pods"], Verbs = ["get"] }],
        }, ns);

        var table = await GetAsync($"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles", KubectlAccept);

        table["columnDefinitions"]!.AsArray().Select(c => $"{c!["name"]}:{c["type"]}").Should().Equal("Name:string", "Created At:date");
        table["rows"]![0]!["cells"]!.AsArray().Select(c => (string)c!).Should().Equal(
            "reader", role.Metadata.CreationTimestamp!.Value.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task A_watch_asking_for_tables_sends_one_row_tables_with_the_columns_only_in_the_first()
    {
        var ns = await fixture.NewNamespaceAsync();
        await fixture.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "one" } }, ns);
        await fixture.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "two" } }, ns);

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/namespaces/{ns}/configmaps?watch=true&timeoutSeconds=1");
        request.Headers.TryAddWithoutValidation("Accept", KubectlAccept);
        using var response = await fixture.Http.SendAsync(request);
        var events = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonNode.Parse(l)!).ToList();

        events.Select(e => (string)e["type"]!).Should().Equal("ADDED", "ADDED");
        events.Select(e => (string)e["object"]!["kind"]!).Should().Equal("Table", "Table");
        events[0]["object"]!["columnDefinitions"]!.AsArray().Should().HaveCount(3);
        events[1]["object"]!.AsObject().ContainsKey("columnDefinitions").Should().BeFalse();
        events.Select(e => (string)e["object"]!["rows"]![0]!["cells"]![0]!).Should().Equal("one", "two");
    }

    private void SetStatus(ResourceType type, string ns, string name, JsonObject status) =>
        fixture.Cluster.Store.Update(type, ns, name, o =>
        {
            o["status"] = status;
            return o;
        });

    private async Task<JsonObject> GetAsync(string path, string accept)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (accept.Length > 0)
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }

        using var response = await fixture.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        ((int)response.StatusCode).Should().Be(200, text);
        return JsonNode.Parse(text)!.AsObject();
    }
}
