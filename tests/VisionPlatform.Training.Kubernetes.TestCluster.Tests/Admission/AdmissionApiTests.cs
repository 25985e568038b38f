using k8s;
using k8s.Models;
using static VisionPlatform.Training.Kubernetes.TestCluster.Tests.Admission.AdmissionFixture;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Admission;

/// <summary>Admission on pods and Jobs created through the API, seen by KubernetesClient: 403 Forbidden with upstream's messages.</summary>
public sealed class AdmissionApiTests(AdmissionFixture fixture) : IClassFixture<AdmissionFixture>
{
    private IKubernetes Client => fixture.Client;

    [Fact]
    public async Task A_pod_naming_a_missing_service_account_is_forbidden_until_it_exists()
    {
        var ns = await fixture.NewNamespaceAsync();
        var pod = Pod("p1", s => s.ServiceAccountName = "trainer-sa");

        var (code, status) = await RefusalAsync(() => Client.CoreV1.CreateNamespacedPodAsync(pod, ns));

        code.Should().Be(403);
        status["reason"]!.ToString().Should().Be("Forbidden");
        status["message"]!.ToString().Should().Be(
            $"pods \"p1\" is forbidden: error looking up service account {ns}/trainer-sa: serviceaccount \"trainer-sa\" not found");
        status["details"]!["name"]!.ToString().Should().Be("p1");

        await Client.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = "trainer-sa" } }, ns);
        var created = await Client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        created.Spec.ServiceAccountName.Should().Be("trainer-sa");
    }

    [Fact]
    public async Task Every_namespace_has_a_default_service_account_and_pods_use_it()
    {
        var ns = await fixture.NewNamespaceAsync();

        var account = await EventuallyAsync(
            async () => (await Client.CoreV1.ListNamespacedServiceAccountAsync(ns)).Items, items => items.Any(a => a.Metadata.Name == "default"));
        account.Should().ContainSingle();

        var pod = await Client.CoreV1.CreateNamespacedPodAsync(Pod("uses-default"), ns);
        pod.Spec.ServiceAccountName.Should().Be("default");
    }

    [Fact]
    public async Task Restricted_pod_security_refuses_a_plain_pod_with_every_reason_and_admits_a_compliant_one()
    {
        var ns = await fixture.NewNamespaceAsync(new Dictionary<string, string> { ["pod-security.kubernetes.io/enforce"] = "restricted" });

        var (code, status) = await RefusalAsync(() => Client.CoreV1.CreateNamespacedPodAsync(Pod("plain"), ns));

        code.Should().Be(403);
        status["reason"]!.ToString().Should().Be("Forbidden");
        status["message"]!.ToString().Should().Be(
            "pods \"plain\" is forbidden: violates PodSecurity \"restricted:latest\": "
            + "allowPrivilegeEscalation != false (container \"trainer\" must set securityContext.allowPrivilegeEscalation=false), "
            + "unrestricted capabilities (container \"trainer\" must set securityContext.capabilities.drop=[\"ALL\"]), "
            + "runAsNonRoot != true (pod or container \"trainer\" must set securityContext.runAsNonRoot=true), "
            + "seccompProfile (pod or container \"trainer\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")");

        var compliant = await Client.CoreV1.CreateNamespacedPodAsync(Pod("compliant", s => s.Containers[0].SecurityContext = RestrictedContainer()), ns);
        compliant.Metadata.Name.Should().Be("compliant");
    }

    [Fact]
    public async Task Baseline_pod_security_refuses_privileged_and_host_namespaces_but_not_root()
    {
        var ns = await fixture.NewNamespaceAsync(new Dictionary<string, string> { ["pod-security.kubernetes.io/enforce"] = "baseline" });
        var privileged = Pod("priv", s =>
        {
            s.HostNetwork = true;
            s.Containers[0].SecurityContext = new V1SecurityContext { Privileged = true };
        });

        var (code, status) = await RefusalAsync(() => Client.CoreV1.CreateNamespacedPodAsync(privileged, ns));

        code.Should().Be(403);
        status["message"]!.ToString().Should().Be(
            "pods \"priv\" is forbidden: violates PodSecurity \"baseline:latest\": host namespaces (hostNetwork=true), "
            + "privileged (container \"trainer\" must not set securityContext.privileged=true)");
        (await Client.CoreV1.CreateNamespacedPodAsync(Pod("root-ok"), ns)).Metadata.Name.Should().Be("root-ok");
    }

    [Fact]
    public async Task A_job_in_a_restricted_namespace_is_created_with_a_warning()
    {
        var ns = await fixture.NewNamespaceAsync(new Dictionary<string, string> { ["pod-security.kubernetes.io/enforce"] = "restricted" });

        using var response = await Client.BatchV1.CreateNamespacedJobWithHttpMessagesAsync(Job("warned"), ns);

        ((int)response.Response.StatusCode).Should().Be(201);
        response.Response.Headers.GetValues("Warning").Should().ContainSingle().Which.Should().StartWith(
            "299 - \"would violate PodSecurity \\\"restricted:latest\\\": allowPrivilegeEscalation != false (container \\\"trainer\\\" must set securityContext.allowPrivilegeEscalation=false), ");
    }

    [Fact]
    public async Task A_gpu_quota_admits_up_to_its_limit_and_releases_usage_when_pods_finish_or_go()
    {
        var ns = await fixture.NewNamespaceAsync();
        await Client.CoreV1.CreateNamespacedResourceQuotaAsync(Quota("gpu-quota", ("requests.nvidia.com/gpu", "1")), ns);
        V1Pod GpuPod(string name) => Pod(name, s => s.Containers[0].Resources = Limits(("nvidia.com/gpu", "1")));

        await Client.CoreV1.CreateNamespacedPodAsync(GpuPod("gpu-1"), ns);
        var (code, status) = await RefusalAsync(() => Client.CoreV1.CreateNamespacedPodAsync(GpuPod("gpu-2"), ns));

        code.Should().Be(403);
        status["message"]!.ToString().Should().Be(
            "pods \"gpu-2\" is forbidden: exceeded quota: gpu-quota, requested: requests.nvidia.com/gpu=1, used: requests.nvidia.com/gpu=1, limited: requests.nvidia.com/gpu=1");
        var quota = await EventuallyAsync(() => Client.CoreV1.ReadNamespacedResourceQuotaAsync("gpu-quota", ns),
            q => q.Status?.Used?.TryGetValue("requests.nvidia.com/gpu", out var u) == true && u.ToString() == "1");
        quota.Status.Hard["requests.nvidia.com/gpu"].ToString().Should().Be("1");

        // a finished pod no longer counts
        await Client.CoreV1.PatchNamespacedPodStatusAsync(new V1Patch("{\"status\":{\"phase\":\"Succeeded\"}}", V1Patch.PatchType.MergePatch), "gpu-1", ns);
        await Client.CoreV1.CreateNamespacedPodAsync(GpuPod("gpu-2"), ns);
        await EventuallyAsync(() => Client.CoreV1.ReadNamespacedResourceQuotaAsync("gpu-quota", ns),
            q => q.Status?.Used?["requests.nvidia.com/gpu"].ToString() == "1");

        // a deleted one neither
        await Client.CoreV1.DeleteNamespacedPodAsync("gpu-2", ns);
        await Client.CoreV1.CreateNamespacedPodAsync(GpuPod("gpu-3"), ns);
    }

    [Fact]
    public async Task A_compute_quota_counts_pods_cpu_and_memory()
    {
        var ns = await fixture.NewNamespaceAsync();
        await Client.CoreV1.CreateNamespacedResourceQuotaAsync(
            Quota("compute", ("pods", "2"), ("requests.cpu", "1"), ("requests.memory", "1Gi")), ns);

        await Client.CoreV1.CreateNamespacedPodAsync(Pod("a", s => s.Containers[0].Resources = Limits(("cpu", "500m"), ("memory", "512Mi"))), ns);
        var (_, cpu) = await RefusalAsync(() => Client.CoreV1.CreateNamespacedPodAsync(
            Pod("b", s => s.Containers[0].Resources = Limits(("cpu", "600m"), ("memory", "256Mi"))), ns));
        cpu["message"]!.ToString().Should().Be(
            "pods \"b\" is forbidden: exceeded quota: compute, requested: requests.cpu=600m, used: requests.cpu=500m, limited: requests.cpu=1");

        var (_, missing) = await RefusalAsync(() => Client.CoreV1.CreateNamespacedPodAsync(Pod("c"), ns));
        missing["message"]!.ToString().Should().Be(
            "pods \"c\" is forbidden: failed quota: compute: must specify requests.cpu for: trainer; requests.memory for: trainer");

        // The controller first writes the quota's usage as zero (on the quota's creation), then recounts once the pod is
        // stored: wait for the count that includes pod a, not for the first status.
        var quota = await EventuallyAsync(() => Client.CoreV1.ReadNamespacedResourceQuotaAsync("compute", ns), q => q.Status?.Used?.TryGetValue("pods", out var pods) == true && pods.ToString() == "1");
        quota.Status.Used.ToDictionary(u => u.Key, u => u.Value.ToString()).Should().BeEquivalentTo(
            new Dictionary<string, string> { ["pods"] = "1", ["requests.cpu"] = "500m", ["requests.memory"] = "512Mi" });
    }

    [Fact]
    public async Task A_job_count_quota_refuses_the_job_beyond_it()
    {
        var ns = await fixture.NewNamespaceAsync();
        await Client.CoreV1.CreateNamespacedResourceQuotaAsync(Quota("jobs", ("count/jobs.batch", "1")), ns);

        await Client.BatchV1.CreateNamespacedJobAsync(Job("j1", s => s.Containers[0].SecurityContext = RestrictedContainer()), ns);
        var (code, status) = await RefusalAsync(() => Client.BatchV1.CreateNamespacedJobAsync(Job("j2"), ns));

        code.Should().Be(403);
        status["message"]!.ToString().Should().Be(
            "jobs.batch \"j2\" is forbidden: exceeded quota: jobs, requested: count/jobs.batch=1, used: count/jobs.batch=1, limited: count/jobs.batch=1");
        status["details"]!["group"]!.ToString().Should().Be("batch");
        status["details"]!["kind"]!.ToString().Should().Be("jobs");
    }

    [Fact]
    public async Task Object_count_quotas_refuse_config_maps_and_services_beyond_them()
    {
        var ns = await fixture.NewNamespaceAsync();
        await Client.CoreV1.CreateNamespacedResourceQuotaAsync(Quota("objects", ("count/configmaps", "1"), ("services", "0")), ns);

        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "c1" } }, ns);
        var (_, configMap) = await RefusalAsync(() => Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "c2" } }, ns));
        var (_, service) = await RefusalAsync(() => Client.CoreV1.CreateNamespacedServiceAsync(new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "s1" },
            Spec = new V1ServiceSpec { ClusterIP = "None", Selector = new Dictionary<string, string> { ["app"] = "x" } },
        }, ns));

        configMap["message"]!.ToString().Should().Be(
            "configmaps \"c2\" is forbidden: exceeded quota: objects, requested: count/configmaps=1, used: count/configmaps=1, limited: count/configmaps=1");
        service["message"]!.ToString().Should().Be(
            "services \"s1\" is forbidden: exceeded quota: objects, requested: services=1, used: services=0, limited: services=0");
    }

    [Fact]
    public async Task A_limit_range_fills_container_defaults_and_refuses_limits_beyond_its_maximum()
    {
        var ns = await fixture.NewNamespaceAsync();
        await Client.CoreV1.CreateNamespacedLimitRangeAsync(new V1LimitRange
        {
            Metadata = new V1ObjectMeta { Name = "defaults" },
            Spec = new V1LimitRangeSpec
            {
                Limits =
                [
                    new V1LimitRangeItem
                    {
                        Type = "Container",
                        DefaultProperty = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("500m"), ["memory"] = new("256Mi") },
                        DefaultRequest = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("100m") },
                        Max = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("2") },
                    },
                ],
            },
        }, ns);

        var pod = await Client.CoreV1.CreateNamespacedPodAsync(Pod("defaulted"), ns);

        var resources = pod.Spec.Containers[0].Resources;
        resources.Requests.ToDictionary(r => r.Key, r => r.Value.ToString()).Should().BeEquivalentTo(
            new Dictionary<string, string> { ["cpu"] = "100m", ["memory"] = "256Mi" });
        resources.Limits.ToDictionary(r => r.Key, r => r.Value.ToString()).Should().BeEquivalentTo(
            new Dictionary<string, string> { ["cpu"] = "500m", ["memory"] = "256Mi" });
        pod.Metadata.Annotations["kubernetes.io/limit-ranger"].Should().Be(
            "LimitRanger plugin set: cpu, memory request for container trainer; cpu, memory limit for container trainer");

        var (code, status) = await RefusalAsync(() => Client.CoreV1.CreateNamespacedPodAsync(
            Pod("big", s => s.Containers[0].Resources = Limits(("cpu", "4"))), ns));
        code.Should().Be(403);
        status["message"]!.ToString().Should().Be("pods \"big\" is forbidden: maximum cpu usage per Container is 2, but limit is 4");

        var stored = await Client.CoreV1.ReadNamespacedLimitRangeAsync("defaults", ns);
        stored.Spec.Limits[0].DefaultRequest["memory"].ToString().Should().Be("256Mi", "a default without a defaultRequest is the request too");
    }

    [Fact]
    public async Task Limit_range_minimum_ratio_and_pod_totals_are_checked_together()
    {
        var ns = await fixture.NewNamespaceAsync();
        await Client.CoreV1.CreateNamespacedLimitRangeAsync(new V1LimitRange
        {
            Metadata = new V1ObjectMeta { Name = "bounds" },
            Spec = new V1LimitRangeSpec
            {
                Limits =
                [
                    new V1LimitRangeItem
                    {
                        Type = "Container",
                        Min = new Dictionary<string, ResourceQuantity> { ["memory"] = new("64Mi") },
                        MaxLimitRequestRatio = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("2") },
                    },
                    new V1LimitRangeItem { Type = "Pod", Max = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("1") } },
                ],
            },
        }, ns);
        var pod = Pod("two", s =>
        {
            var resources = new V1ResourceRequirements
            {
                Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("150m"), ["memory"] = new("32Mi") },
                Limits = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("600m"), ["memory"] = new("32Mi") },
            };
            s.Containers[0].Resources = resources;
            s.Containers.Add(new V1Container { Name = "sidecar", Image = "trainer:1", Resources = resources });
        });

        var (code, status) = await RefusalAsync(() => Client.CoreV1.CreateNamespacedPodAsync(pod, ns));

        code.Should().Be(403);
        status["message"]!.ToString().Should().Be(
            "pods \"two\" is forbidden: [minimum memory usage per Container is 64Mi, but request is 32Mi, "
            + "cpu max limit to request ratio per Container is 2, but provided ratio is 4.000000, "
            + "maximum cpu usage per Pod is 1, but limit is 1200m]");
    }

    [Fact]
    public async Task Namespaces_without_labels_or_quotas_admit_anything()
    {
        var ns = await fixture.NewNamespaceAsync();

        var pod = await Client.CoreV1.CreateNamespacedPodAsync(Pod("anything", s =>
        {
            s.HostNetwork = true;
            s.Containers[0].SecurityContext = new V1SecurityContext { Privileged = true };
            s.Containers[0].Resources = Limits(("nvidia.com/gpu", "8"), ("cpu", "64"));
        }), ns);

        pod.Metadata.Name.Should().Be("anything");
    }

    private static V1ResourceQuota Quota(string name, params (string Name, string Value)[] hard) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Spec = new V1ResourceQuotaSpec { Hard = hard.ToDictionary(h => h.Name, h => new ResourceQuantity(h.Value)) },
    };
}
