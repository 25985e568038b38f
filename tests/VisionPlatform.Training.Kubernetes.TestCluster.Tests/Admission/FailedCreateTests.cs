using k8s;
using k8s.Models;
using static VisionPlatform.Training.Kubernetes.TestCluster.Tests.Admission.AdmissionFixture;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Admission;

/// <summary>
/// The Job controller's pod creates go through admission: a refusal is a FailedCreate Warning Event on the Job (message
/// <c>Error creating: &lt;the API error&gt;</c>, repeats aggregated into <c>count</c>), the Job stays without pods, and the
/// create is retried with back-off until the cause is gone.
/// </summary>
public sealed class FailedCreateTests(AdmissionFixture fixture) : IClassFixture<AdmissionFixture>
{
    private IKubernetes Client => fixture.Client;

    [Fact]
    public async Task A_missing_service_account_is_a_failed_create_event_retried_until_the_account_exists()
    {
        var ns = await fixture.NewNamespaceAsync();
        var job = await Client.BatchV1.CreateNamespacedJobAsync(Job("sa-job", s => s.ServiceAccountName = "trainer-sa"), ns);

        var expected = $"Error creating: pods \"sa-job-\" is forbidden: error looking up service account {ns}/trainer-sa: serviceaccount \"trainer-sa\" not found";
        var first = await FailedCreateAsync(ns, "sa-job", e => e.Message == expected);
        first.Type.Should().Be("Warning");
        first.Source.Component.Should().Be("job-controller");
        first.ReportingComponent.Should().Be("job-controller");
        first.InvolvedObject.Kind.Should().Be("Job");
        first.InvolvedObject.ApiVersion.Should().Be("batch/v1");
        first.InvolvedObject.Uid.Should().Be(job.Metadata.Uid);
        first.Metadata.Name.Should().StartWith("sa-job.");
        first.FirstTimestamp.Should().NotBeNull();

        // the retry after the first back-off (1 s) is refused the same way: the same Event counts it
        var repeated = await FailedCreateAsync(ns, "sa-job", e => e.Count >= 2, seconds: 15);
        repeated.Metadata.Name.Should().Be(first.Metadata.Name);
        repeated.LastTimestamp.Should().BeOnOrAfter(first.FirstTimestamp!.Value);
        (await Client.CoreV1.ListNamespacedPodAsync(ns)).Items.Should().BeEmpty();
        (await Client.BatchV1.ReadNamespacedJobAsync("sa-job", ns)).Status.Active.Should().BeNull("a pod that was not created is not active");

        await Client.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = "trainer-sa" } }, ns);
        var pods = await EventuallyAsync(async () => (await Client.CoreV1.ListNamespacedPodAsync(ns)).Items, p => p.Count == 1, seconds: 20);
        pods[0].Metadata.GenerateName.Should().Be("sa-job-");
        pods[0].Spec.ServiceAccountName.Should().Be("trainer-sa");
        await EventuallyAsync(() => Client.BatchV1.ReadNamespacedJobAsync("sa-job", ns), j => j.Status?.Active == 1);
    }

    [Fact]
    public async Task A_quota_refusal_is_watched_as_an_event_and_the_pod_comes_once_the_quota_is_raised()
    {
        var ns = await fixture.NewNamespaceAsync();
        await Client.CoreV1.CreateNamespacedResourceQuotaAsync(new V1ResourceQuota
        {
            Metadata = new V1ObjectMeta { Name = "gpus" },
            Spec = new V1ResourceQuotaSpec { Hard = new Dictionary<string, ResourceQuantity> { ["requests.nvidia.com/gpu"] = new("0") } },
        }, ns);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var watched = WatchFailedCreateAsync(ns, cancel.Token);

        await Client.BatchV1.CreateNamespacedJobAsync(Job("gpu-job", s => s.Containers[0].Resources = Limits(("nvidia.com/gpu", "1"))), ns);

        var seen = await watched;
        seen.Message.Should().Be(
            "Error creating: pods \"gpu-job-\" is forbidden: exceeded quota: gpus, requested: requests.nvidia.com/gpu=1, used: requests.nvidia.com/gpu=0, limited: requests.nvidia.com/gpu=0");
        seen.InvolvedObject.Name.Should().Be("gpu-job");
        (await Client.CoreV1.ListNamespacedPodAsync(ns)).Items.Should().BeEmpty();

        await Client.CoreV1.PatchNamespacedResourceQuotaAsync(
            new V1Patch("{\"spec\":{\"hard\":{\"requests.nvidia.com/gpu\":\"1\"}}}", V1Patch.PatchType.MergePatch), "gpus", ns);
        await EventuallyAsync(async () => (await Client.CoreV1.ListNamespacedPodAsync(ns)).Items, p => p.Count == 1, seconds: 20);
        await EventuallyAsync(() => Client.CoreV1.ReadNamespacedResourceQuotaAsync("gpus", ns),
            q => q.Status?.Used?["requests.nvidia.com/gpu"].ToString() == "1");
    }

    [Fact]
    public async Task A_restricted_namespace_admits_the_job_and_refuses_its_pods()
    {
        var ns = await fixture.NewNamespaceAsync(new Dictionary<string, string> { ["pod-security.kubernetes.io/enforce"] = "restricted" });

        await Client.BatchV1.CreateNamespacedJobAsync(Job("psa-job"), ns);

        var refused = await FailedCreateAsync(ns, "psa-job", _ => true);
        refused.Message.Should().Be(
            "Error creating: pods \"psa-job-\" is forbidden: violates PodSecurity \"restricted:latest\": "
            + "allowPrivilegeEscalation != false (container \"trainer\" must set securityContext.allowPrivilegeEscalation=false), "
            + "unrestricted capabilities (container \"trainer\" must set securityContext.capabilities.drop=[\"ALL\"]), "
            + "runAsNonRoot != true (pod or container \"trainer\" must set securityContext.runAsNonRoot=true), "
            + "seccompProfile (pod or container \"trainer\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")");
        (await Client.CoreV1.ListNamespacedPodAsync(ns)).Items.Should().BeEmpty();

        // a compliant Job in the same namespace gets its pod
        await Client.BatchV1.CreateNamespacedJobAsync(Job("ok-job", s => s.Containers[0].SecurityContext = RestrictedContainer()), ns);
        await EventuallyAsync(async () => (await Client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: "job-name=ok-job")).Items, p => p.Count == 1);
    }

    [Fact]
    public async Task The_event_is_also_served_by_events_k8s_io_v1_read_only()
    {
        var ns = await fixture.NewNamespaceAsync();
        var job = await Client.BatchV1.CreateNamespacedJobAsync(Job("v1-job", s => s.ServiceAccountName = "missing"), ns);
        var core = await FailedCreateAsync(ns, "v1-job", _ => true);

        var items = await EventuallyAsync(
            async () => (await Client.EventsV1.ListNamespacedEventAsync(ns, fieldSelector: "regarding.name=v1-job,reason=FailedCreate")).Items,
            i => i.Count == 1);

        var view = items[0];
        view.Metadata.Name.Should().Be(core.Metadata.Name);
        view.Note.Should().Be(core.Message);
        view.Type.Should().Be("Warning");
        view.ReportingController.Should().Be("job-controller");
        view.Regarding.Uid.Should().Be(job.Metadata.Uid);
        view.DeprecatedSource.Component.Should().Be("job-controller");
        view.DeprecatedCount.Should().BeGreaterThanOrEqualTo(1);

        var (code, status) = await RefusalAsync(() => Client.EventsV1.CreateNamespacedEventAsync(
            new Eventsv1Event { Metadata = new V1ObjectMeta { Name = "mine" }, EventTime = DateTime.UtcNow, Reason = "X", Note = "n" }, ns));
        code.Should().Be(405);
        status["message"]!.ToString().Should().Contain("write Events through core/v1");
    }

    [Fact]
    public async Task A_limit_range_violation_is_a_failed_create_event()
    {
        var ns = await fixture.NewNamespaceAsync();
        await Client.CoreV1.CreateNamespacedLimitRangeAsync(new V1LimitRange
        {
            Metadata = new V1ObjectMeta { Name = "max" },
            Spec = new V1LimitRangeSpec
            {
                Limits = [new V1LimitRangeItem { Type = "Container", Max = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("2") } }],
            },
        }, ns);

        await Client.BatchV1.CreateNamespacedJobAsync(Job("big-job", s => s.Containers[0].Resources = Limits(("cpu", "4"))), ns);

        var refused = await FailedCreateAsync(ns, "big-job", _ => true);
        refused.Message.Should().Be("Error creating: pods \"big-job-\" is forbidden: maximum cpu usage per Container is 2, but limit is 4");
    }

    private async Task<Corev1Event> FailedCreateAsync(string ns, string job, Func<Corev1Event, bool> condition, int seconds = 20)
    {
        var events = await EventuallyAsync(
            async () => (await Client.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: $"involvedObject.name={job},reason=FailedCreate")).Items,
            items => items.Any(condition), seconds);
        return events.First(condition);
    }

    private async Task<Corev1Event> WatchFailedCreateAsync(string ns, CancellationToken cancellationToken)
    {
        await foreach (var (type, item) in Client.CoreV1.WatchListNamespacedEventAsync(ns, fieldSelector: "reason=FailedCreate", cancellationToken: cancellationToken))
        {
            if (type == WatchEventType.Added)
            {
                return item;
            }
        }

        throw new InvalidOperationException("the watch ended without a FailedCreate event");
    }
}
