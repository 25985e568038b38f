using k8s;
using k8s.Models;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Api;

[Collection("api")]
public sealed class DeleteTests(ApiFixture fixture)
{
    [Fact]
    public async Task Background_removes_the_job_now_and_answers_a_success_status()
    {
        var ns = await fixture.NewNamespaceAsync();
        var job = await fixture.Client.BatchV1.CreateNamespacedJobAsync(ApiFixture.Job("bg"), ns);
        var (status, body, _) = await fixture.SendAsync(HttpMethod.Delete, $"/apis/batch/v1/namespaces/{ns}/jobs/bg?propagationPolicy=Background");

        status.Should().Be(200);
        body.ToJsonString().Should().Be("""{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","details":{"name":"bg","group":"batch","kind":"jobs","uid":"UID"}}""".Replace("UID", job.Metadata.Uid, StringComparison.Ordinal));
        (await fixture.Client.BatchV1.ListNamespacedJobAsync(ns)).Items.Should().BeEmpty();
    }

    [Theory]
    [InlineData("Foreground", "foregroundDeletion")]
    [InlineData("Orphan", "orphan")]
    public async Task Foreground_and_orphan_keep_the_job_terminating_with_a_finalizer(string policy, string finalizer)
    {
        var ns = await fixture.NewNamespaceAsync();
        await fixture.Client.BatchV1.CreateNamespacedJobAsync(ApiFixture.Job("j"), ns);

        var status = await fixture.Client.BatchV1.DeleteNamespacedJobAsync("j", ns, new V1DeleteOptions { PropagationPolicy = policy });

        status.HasObject.Should().BeTrue();
        var job = status.ObjectView<V1Job>();
        job.Metadata.DeletionTimestamp.Should().NotBeNull();
        job.Metadata.Finalizers.Should().Equal(finalizer);
        (await fixture.Client.BatchV1.ReadNamespacedJobAsync("j", ns)).Metadata.Finalizers.Should().Equal(finalizer);
    }

    [Fact]
    public async Task Default_policy_for_jobs_is_orphan_with_the_warning_header()
    {
        var ns = await fixture.NewNamespaceAsync();
        await fixture.Client.BatchV1.CreateNamespacedJobAsync(ApiFixture.Job("d"), ns);
        var (status, body, response) = await fixture.SendAsync(HttpMethod.Delete, $"/apis/batch/v1/namespaces/{ns}/jobs/d");

        status.Should().Be(200);
        body["kind"]!.GetValue<string>().Should().Be("Job");
        body["metadata"]!["finalizers"]!.ToJsonString().Should().Be("""["orphan"]""");
        response.Headers.GetValues("Warning").Should().ContainSingle().Which.Should().Contain("child pods are preserved by default when jobs are deleted");

        var again = await fixture.Client.BatchV1.DeleteNamespacedJobAsync("d", ns, propagationPolicy: "Orphan");
        again.ObjectView<V1Job>().Metadata.Finalizers.Should().Equal("orphan");
    }

    [Fact]
    public async Task Deleting_a_running_pod_is_graceful_and_returns_the_pod()
    {
        var ns = await fixture.NewNamespaceAsync();
        await fixture.Client.CoreV1.CreateNamespacedPodAsync(new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = "p" },
            Spec = new V1PodSpec { NodeName = "node-1", Containers = [new V1Container { Name = "main", Image = "busybox" }] },
        }, ns);

        var deleted = await fixture.Client.CoreV1.DeleteNamespacedPodAsync("p", ns);
        deleted.Metadata.DeletionTimestamp.Should().NotBeNull();
        deleted.Metadata.DeletionGracePeriodSeconds.Should().Be(30);
        fixture.Cluster.Store.FinalizeDelete(VisionPlatform.Training.Kubernetes.TestCluster.Store.ResourceType.Pods, ns, "p").Removed.Should().BeTrue();
    }

    [Fact]
    public async Task Invalid_propagation_policy_is_422()
    {
        var ns = await fixture.NewNamespaceAsync();
        await fixture.Client.BatchV1.CreateNamespacedJobAsync(ApiFixture.Job("x"), ns);
        var (status, body, _) = await fixture.SendAsync(HttpMethod.Delete, $"/apis/batch/v1/namespaces/{ns}/jobs/x?propagationPolicy=Sometimes");
        status.Should().Be(422);
        body["message"]!.GetValue<string>().Should().Be("DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"Sometimes\": supported values: \"Foreground\", \"Background\", \"Orphan\"");
    }

    [Fact]
    public async Task Deleting_a_missing_job_is_404()
    {
        var ns = await fixture.NewNamespaceAsync();
        var (status, body, _) = await fixture.SendAsync(HttpMethod.Delete, $"/apis/batch/v1/namespaces/{ns}/jobs/none?propagationPolicy=Background");
        status.Should().Be(404);
        body["message"]!.GetValue<string>().Should().Be("jobs.batch \"none\" not found");
    }
}
