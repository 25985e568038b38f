using k8s;
using k8s.Autorest;
using k8s.Models;
using VisionPlatform.Training.Kubernetes.TestCluster.Api;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Api;

public sealed class AccessReviewTests
{
    private static V1SelfSubjectAccessReview Review(string verb, string resource, string ns, string group = "batch", string? subresource = null) => new()
    {
        Spec = new V1SelfSubjectAccessReviewSpec
        {
            ResourceAttributes = new V1ResourceAttributes { Verb = verb, Resource = resource, Group = group, NamespaceProperty = ns, Subresource = subresource },
        },
    };

    [Fact]
    public async Task Without_a_policy_everything_is_allowed()
    {
        await using var cluster = await ApiFixture.StartAsync();
        using var client = cluster.CreateClient();
        var review = await client.AuthorizationV1.CreateSelfSubjectAccessReviewAsync(Review("create", "jobs", "ml"));
        review.Status.Allowed.Should().BeTrue();
    }

    [Fact]
    public async Task A_policy_answers_reviews_and_is_enforced_with_403()
    {
        await using var cluster = await ApiFixture.StartAsync(o =>
        {
            o.Namespaces.Add("ml");
            o.AccessPolicy = new AccessPolicy(
            [
                new AccessRule(["create", "get", "list", "watch", "delete"], ["jobs"], "batch", "ml"),
                new AccessRule(["get", "list"], ["pods", "pods/log"], "", "ml"),
            ]);
        });
        using var client = cluster.CreateClient();

        (await client.AuthorizationV1.CreateSelfSubjectAccessReviewAsync(Review("create", "jobs", "ml"))).Status.Allowed.Should().BeTrue();
        (await client.AuthorizationV1.CreateSelfSubjectAccessReviewAsync(Review("get", "pods", "ml", "", "log"))).Status.Allowed.Should().BeTrue();
        (await client.AuthorizationV1.CreateSelfSubjectAccessReviewAsync(Review("delete", "pods", "ml", ""))).Status.Allowed.Should().BeFalse();
        (await client.AuthorizationV1.CreateSelfSubjectAccessReviewAsync(Review("create", "jobs", "other"))).Status.Allowed.Should().BeFalse();

        (await client.BatchV1.ListNamespacedJobAsync("ml")).Items.Should().BeEmpty();
        var forbidden = () => client.BatchV1.CreateNamespacedJobAsync(ApiFixture.Job("j"), "default");
        var error = (await forbidden.Should().ThrowAsync<HttpOperationException>()).Which;
        error.Response.StatusCode.Should().Be(System.Net.HttpStatusCode.Forbidden);
        var status = KubernetesJson.Deserialize<V1Status>(error.Response.Content);
        status.Reason.Should().Be("Forbidden");
        status.Message.Should().Be($"jobs.batch is forbidden: User \"{cluster.Context.Options.UserName}\" cannot create resource \"jobs\" in API group \"batch\" in the namespace \"default\"");
    }
}
