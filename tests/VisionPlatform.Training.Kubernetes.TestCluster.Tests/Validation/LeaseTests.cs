using k8s;
using k8s.Autorest;
using k8s.Models;
using VisionPlatform.Training.Kubernetes.TestCluster.Api;
using VisionPlatform.Training.Kubernetes.TestCluster.Tests.Api;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Validation;

/// <summary>
/// coordination.k8s.io/v1 Leases as leader election uses them: discovery, create (409 AlreadyExists for the second),
/// update with the resourceVersion read (409 Conflict when stale), validation and RBAC.
/// </summary>
[Collection("api")]
public sealed class LeaseTests(ApiFixture fixture)
{
    [Fact]
    public async Task Leases_are_discovered_created_once_and_updated_with_optimistic_concurrency()
    {
        var (_, groups, _) = await fixture.SendAsync(HttpMethod.Get, "/apis");
        groups["groups"]!.AsArray().Select(g => g!["name"]!.GetValue<string>()).Should().Contain("coordination.k8s.io");
        var (_, resources, _) = await fixture.SendAsync(HttpMethod.Get, "/apis/coordination.k8s.io/v1");
        resources["resources"]!.AsArray().Select(r => r!["name"]!.GetValue<string>()).Should().Equal("leases");

        var ns = await fixture.NewNamespaceAsync();
        var now = new DateTime(2026, 12, 7, 10, 0, 0, DateTimeKind.Utc);
        var created = await fixture.Client.CoordinationV1.CreateNamespacedLeaseAsync(Lease("a", now), ns);
        created.Spec.HolderIdentity.Should().Be("a");
        created.Spec.RenewTime.Should().Be(now);

        var second = () => fixture.Client.CoordinationV1.CreateNamespacedLeaseAsync(Lease("b", now), ns);
        (await second.Should().ThrowAsync<HttpOperationException>()).Which.Response.StatusCode.Should().Be(System.Net.HttpStatusCode.Conflict);

        var read = await fixture.Client.CoordinationV1.ReadNamespacedLeaseAsync("archiver", ns);
        read.Spec.RenewTime = now.AddSeconds(5);
        var renewed = await fixture.Client.CoordinationV1.ReplaceNamespacedLeaseAsync(read, "archiver", ns);
        renewed.Metadata.ResourceVersion.Should().NotBe(created.Metadata.ResourceVersion);

        read.Spec.HolderIdentity = "b"; // Still the resourceVersion read before the renewal: stale.
        var stale = () => fixture.Client.CoordinationV1.ReplaceNamespacedLeaseAsync(read, "archiver", ns);
        (await stale.Should().ThrowAsync<HttpOperationException>()).Which.Response.StatusCode.Should().Be(System.Net.HttpStatusCode.Conflict);
        (await fixture.Client.CoordinationV1.ReadNamespacedLeaseAsync("archiver", ns)).Spec.HolderIdentity.Should().Be("a");
    }

    [Fact]
    public async Task A_bad_duration_or_transition_count_is_rejected()
    {
        var ns = await fixture.NewNamespaceAsync();
        var lease = Lease("a", DateTime.UtcNow);
        lease.Spec.LeaseDurationSeconds = 0;
        lease.Spec.LeaseTransitions = -1;

        var error = (await fixture.Client.CoordinationV1.Invoking(c => c.CreateNamespacedLeaseAsync(lease, ns)).Should().ThrowAsync<HttpOperationException>()).Which;

        ((int)error.Response.StatusCode).Should().Be(422);
        KubernetesJson.Deserialize<V1Status>(error.Response.Content).Details.Causes.Select(c => $"{c.Field}: {c.Message}").Should().BeEquivalentTo(
            "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0",
            "spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0");
    }

    [Fact]
    public async Task Leases_are_subject_to_rbac()
    {
        await using var cluster = await ApiFixture.StartAsync(o =>
        {
            o.Namespaces.Add("ml");
            o.AccessPolicy = new AccessPolicy([new AccessRule(["get", "create", "update"], ["leases"], "coordination.k8s.io", "ml")]);
        });
        using var client = cluster.CreateClient();

        (await client.CoordinationV1.CreateNamespacedLeaseAsync(Lease("a", DateTime.UtcNow), "ml")).Spec.HolderIdentity.Should().Be("a");
        var list = () => client.CoordinationV1.ListNamespacedLeaseAsync("ml");
        var error = (await list.Should().ThrowAsync<HttpOperationException>()).Which;
        error.Response.StatusCode.Should().Be(System.Net.HttpStatusCode.Forbidden);
        KubernetesJson.Deserialize<V1Status>(error.Response.Content).Message.Should().Be(
            $"leases.coordination.k8s.io is forbidden: User \"{cluster.Context.Options.UserName}\" cannot list resource \"leases\" in API group \"coordination.k8s.io\" in the namespace \"ml\"");
    }

    private static V1Lease Lease(string holder, DateTime now) => new()
    {
        Metadata = new V1ObjectMeta { Name = "archiver" },
        Spec = new V1LeaseSpec { HolderIdentity = holder, LeaseDurationSeconds = 15, AcquireTime = now, RenewTime = now, LeaseTransitions = 0 },
    };
}
