using k8s;
using k8s.Autorest;
using k8s.Models;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Api;

[Collection("api")]
public sealed class ErrorStatusTests(ApiFixture fixture)
{
    [Fact]
    public async Task Missing_job_is_404_with_the_exact_status_body()
    {
        var ns = await fixture.NewNamespaceAsync();
        var (status, body, response) = await fixture.SendAsync(HttpMethod.Get, $"/apis/batch/v1/namespaces/{ns}/jobs/nope");

        status.Should().Be(404);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/json");
        body.ToJsonString().Should().Be("""{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"jobs.batch \u0022nope\u0022 not found","reason":"NotFound","details":{"name":"nope","group":"batch","kind":"jobs"},"code":404}""");
    }

    [Fact]
    public async Task Missing_pod_is_404_without_a_group()
    {
        var ns = await fixture.NewNamespaceAsync();
        var (status, body, _) = await fixture.SendAsync(HttpMethod.Get, $"/api/v1/namespaces/{ns}/pods/p/log");
        status.Should().Be(404);
        body["message"]!.GetValue<string>().Should().Be("pods \"p\" not found");
        body["details"]!.ToJsonString().Should().Be("""{"name":"p","kind":"pods"}""");
    }

    [Fact]
    public async Task Client_sees_409_AlreadyExists_as_HttpOperationException()
    {
        var ns = await fixture.NewNamespaceAsync();
        await fixture.Client.BatchV1.CreateNamespacedJobAsync(ApiFixture.Job("train-1"), ns);
        var again = () => fixture.Client.BatchV1.CreateNamespacedJobAsync(ApiFixture.Job("train-1"), ns);

        var error = (await again.Should().ThrowAsync<HttpOperationException>()).Which;
        error.Response.StatusCode.Should().Be(System.Net.HttpStatusCode.Conflict);
        var statusBody = KubernetesJson.Deserialize<V1Status>(error.Response.Content);
        statusBody.Reason.Should().Be("AlreadyExists");
        statusBody.Message.Should().Be("jobs.batch \"train-1\" already exists");
        statusBody.Details.Kind.Should().Be("jobs");
        statusBody.Details.Group.Should().Be("batch");
    }

    [Fact]
    public async Task Stale_resource_version_on_put_is_409_Conflict()
    {
        var ns = await fixture.NewNamespaceAsync();
        var created = await fixture.Client.BatchV1.CreateNamespacedJobAsync(ApiFixture.Job("train-1"), ns);
        var first = await fixture.Client.BatchV1.ReadNamespacedJobAsync("train-1", ns);
        first.Metadata.Labels["team"] = "a";
        await fixture.Client.BatchV1.ReplaceNamespacedJobAsync(first, "train-1", ns);

        created.Metadata.Labels["team"] = "b";
        var stale = () => fixture.Client.BatchV1.ReplaceNamespacedJobAsync(created, "train-1", ns);
        var error = (await stale.Should().ThrowAsync<HttpOperationException>()).Which;
        error.Response.Content.Should().Be("""{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Operation cannot be fulfilled on jobs.batch \"train-1\": the object has been modified; please apply your changes to the latest version and try again","reason":"Conflict","details":{"name":"train-1","group":"batch","kind":"jobs"},"code":409}""" + "\n");
    }

    [Fact]
    public async Task Job_without_restart_policy_is_422_with_the_exact_body()
    {
        var ns = await fixture.NewNamespaceAsync();
        var json = """{"metadata":{"name":"train-1"},"spec":{"template":{"spec":{"containers":[{"name":"main","image":"busybox"}]}}}}""";
        var (status, body, _) = await fixture.SendAsync(HttpMethod.Post, $"/apis/batch/v1/namespaces/{ns}/jobs", json);

        status.Should().Be(422);
        body.ToJsonString().Should().Be("""{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Job.batch \u0022train-1\u0022 is invalid: spec.template.spec.restartPolicy: Required value: valid values: \u0022OnFailure\u0022, \u0022Never\u0022","reason":"Invalid","details":{"name":"train-1","group":"batch","kind":"Job","causes":[{"reason":"FieldValueRequired","message":"Required value: valid values: \u0022OnFailure\u0022, \u0022Never\u0022","field":"spec.template.spec.restartPolicy"}]},"code":422}""");
    }

    [Theory]
    [InlineData("1GB")]
    [InlineData("1gi")]
    [InlineData("1.5.2")]
    public async Task Unparsable_quantity_is_400_BadRequest(string quantity)
    {
        var ns = await fixture.NewNamespaceAsync();
        var json = """{"metadata":{"name":"q"},"spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"main","image":"busybox","resources":{"limits":{"memory":"QTY"}}}]}}}}""".Replace("QTY", quantity, StringComparison.Ordinal);
        var (status, body, _) = await fixture.SendAsync(HttpMethod.Post, $"/apis/batch/v1/namespaces/{ns}/jobs", json);

        status.Should().Be(400);
        body.ToJsonString().Should().Be("""{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Job in version \u0022v1\u0022 cannot be handled as a Job: quantities must match the regular expression \u0027^([\u002B-]?[0-9.]\u002B)([eEinumkKMGTP]*[-\u002B]?[0-9]*)$\u0027","reason":"BadRequest","code":400}""");
    }

    [Fact]
    public async Task Create_in_a_missing_namespace_is_404_but_list_is_empty()
    {
        var create = () => fixture.Client.BatchV1.CreateNamespacedJobAsync(ApiFixture.Job("a"), "does-not-exist");
        var error = (await create.Should().ThrowAsync<HttpOperationException>()).Which;
        error.Response.Content.Should().Be("""{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"namespaces \"does-not-exist\" not found","reason":"NotFound","details":{"name":"does-not-exist","kind":"namespaces"},"code":404}""" + "\n");

        var list = await fixture.Client.BatchV1.ListNamespacedJobAsync("does-not-exist");
        list.Items.Should().BeEmpty();
    }

    [Fact]
    public async Task Unknown_paths_and_methods_are_answered_like_the_apiserver()
    {
        var (status, body, _) = await fixture.SendAsync(HttpMethod.Get, "/apis/batch/v1/namespaces/default/cronjobs");
        status.Should().Be(404);
        body["text"]!.GetValue<string>().Should().Be("404 page not found\n");

        var (methodStatus, methodBody, _) = await fixture.SendAsync(HttpMethod.Post, "/apis/batch/v1/namespaces/default/jobs/x", "{}");
        methodStatus.Should().Be(405);
        methodBody["reason"]!.GetValue<string>().Should().Be("MethodNotAllowed");
    }
}
