using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using VisionPlatform.Training.Kubernetes.TestCluster.Tests.Api;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Validation;

[Collection("api")]
public sealed class ServiceValidationTests(ApiFixture fixture)
{
    [Fact]
    public async Task A_cluster_ip_service_gets_the_apiservers_defaults_and_an_address_that_cannot_change()
    {
        var ns = await fixture.NewNamespaceAsync();

        var created = await fixture.Client.CoreV1.CreateNamespacedServiceAsync(new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "web" },
            Spec = new V1ServiceSpec
            {
                Selector = new Dictionary<string, string> { ["app"] = "web" },
                Ports = [new V1ServicePort { Port = 80 }],
            },
        }, ns);

        created.Spec.Type.Should().Be("ClusterIP");
        created.Spec.ClusterIP.Should().StartWith("10.96.");
        created.Spec.ClusterIPs.Should().Equal(created.Spec.ClusterIP);
        created.Spec.SessionAffinity.Should().Be("None");
        created.Spec.IpFamilies.Should().Equal("IPv4");
        created.Spec.IpFamilyPolicy.Should().Be("SingleStack");
        created.Spec.InternalTrafficPolicy.Should().Be("Cluster");
        created.Spec.Ports[0].Protocol.Should().Be("TCP");
        created.Spec.Ports[0].TargetPort.Value.Should().Be("80");

        // an update that leaves the address out keeps it
        var address = created.Spec.ClusterIP;
        created.Spec.ClusterIP = null;
        created.Spec.ClusterIPs = null;
        created.Metadata.Labels = new Dictionary<string, string> { ["tier"] = "front" };
        var updated = await fixture.Client.CoreV1.ReplaceNamespacedServiceAsync(created, "web", ns);
        updated.Spec.ClusterIP.Should().Be(address);
        updated.Metadata.Labels["tier"].Should().Be("front");

        var patched = await fixture.Client.CoreV1.PatchNamespacedServiceAsync(
            new V1Patch("""{"spec":{"publishNotReadyAddresses":true}}""", V1Patch.PatchType.MergePatch), "web", ns);
        patched.Spec.PublishNotReadyAddresses.Should().BeTrue();
        patched.Spec.ClusterIP.Should().Be(updated.Spec.ClusterIP);

        var error = (await fixture.Client.CoreV1.Invoking(c => c.PatchNamespacedServiceAsync(
            new V1Patch("""{"spec":{"clusterIP":"10.96.200.200","clusterIPs":["10.96.200.200"]}}""", V1Patch.PatchType.MergePatch), "web", ns))
            .Should().ThrowAsync<HttpOperationException>()).Which;
        ((int)error.Response.StatusCode).Should().Be(422);
        KubernetesJson.Deserialize<V1Status>(error.Response.Content).Details.Causes.Should().ContainSingle()
            .Which.Field.Should().Be("spec.clusterIPs[0]");

        (await fixture.Client.CoreV1.ListNamespacedServiceAsync(ns)).Items.Should().ContainSingle(s => s.Metadata.Name == "web");
        (await fixture.Client.CoreV1.ReadNamespacedServiceAsync("web", ns)).Spec.PublishNotReadyAddresses.Should().BeTrue();
        await fixture.Client.CoreV1.DeleteNamespacedServiceAsync("web", ns);
        (await fixture.Client.CoreV1.ListNamespacedServiceAsync(ns)).Items.Should().BeEmpty();
    }

    [Fact]
    public async Task A_headless_service_needs_no_ports_and_is_watched_like_any_resource()
    {
        var ns = await fixture.NewNamespaceAsync();
        var list = await fixture.Client.CoreV1.ListNamespacedServiceAsync(ns);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/namespaces/{ns}/services?watch=1&resourceVersion={list.Metadata.ResourceVersion}&timeoutSeconds=3");
        using var response = await fixture.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);

        var created = await fixture.Client.CoreV1.CreateNamespacedServiceAsync(new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "workers" },
            Spec = new V1ServiceSpec
            {
                ClusterIP = "None",
                Selector = new Dictionary<string, string> { ["batch.kubernetes.io/job-name"] = "train" },
                PublishNotReadyAddresses = true,
            },
        }, ns);
        var body = await response.Content.ReadAsStringAsync();

        created.Spec.ClusterIP.Should().Be("None");
        created.Spec.ClusterIPs.Should().Equal("None");
        created.Spec.Ports.Should().BeNullOrEmpty();
        var events = body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        events.Should().ContainSingle();
        events[0]["type"]!.GetValue<string>().Should().Be("ADDED");
        events[0]["object"]!["kind"]!.GetValue<string>().Should().Be("Service");
        events[0]["object"]!["spec"]!["clusterIP"]!.GetValue<string>().Should().Be("None");
    }

    [Fact]
    public async Task Bad_names_ports_types_and_selectors_are_rejected_with_every_cause()
    {
        var ns = await fixture.NewNamespaceAsync();

        var error = (await fixture.Client.CoreV1.Invoking(c => c.CreateNamespacedServiceAsync(new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "1workers" },
            Spec = new V1ServiceSpec
            {
                Type = "Sideways",
                Selector = new Dictionary<string, string> { ["app"] = "-bad-" },
                Ports =
                [
                    new V1ServicePort { Port = 0, Protocol = "ICMP" },
                    new V1ServicePort { Port = 29500 },
                ],
            },
        }, ns)).Should().ThrowAsync<HttpOperationException>()).Which;

        ((int)error.Response.StatusCode).Should().Be(422);
        var status = KubernetesJson.Deserialize<V1Status>(error.Response.Content);
        status.Message.Should().StartWith("Service \"1workers\" is invalid: ");
        status.Details.Causes.Select(c => $"{c.Field}: {c.Message}").Should().BeEquivalentTo(
            "metadata.name: Invalid value: \"1workers\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
            "spec.type: Unsupported value: \"Sideways\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
            "spec.selector: Invalid value: \"-bad-\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
            "spec.ports[0].name: Required value",
            "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
            "spec.ports[0].protocol: Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
            "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
            "spec.ports[1].name: Required value");

        var noPorts = (await fixture.Client.CoreV1.Invoking(c => c.CreateNamespacedServiceAsync(new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "no-ports" },
            Spec = new V1ServiceSpec { Selector = new Dictionary<string, string> { ["app"] = "x" } },
        }, ns)).Should().ThrowAsync<HttpOperationException>()).Which;
        KubernetesJson.Deserialize<V1Status>(noPorts.Response.Content).Details.Causes.Select(c => $"{c.Field}: {c.Message}")
            .Should().Equal("spec.ports: Required value");
    }

    [Fact]
    public async Task Discovery_lists_services_and_endpoint_slices()
    {
        var core = await fixture.Client.CoreV1.GetAPIResourcesAsync();
        var services = core.Resources.Should().ContainSingle(r => r.Name == "services").Subject;
        services.ShortNames.Should().Equal("svc");
        services.Namespaced.Should().BeTrue();
        core.Resources.Should().Contain(r => r.Name == "services/status");

        var discovery = await fixture.Client.DiscoveryV1.GetAPIResourcesAsync();
        discovery.GroupVersion.Should().Be("discovery.k8s.io/v1");
        discovery.Resources.Should().ContainSingle(r => r.Name == "endpointslices" && r.Kind == "EndpointSlice");
    }
}
