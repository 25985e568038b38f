using k8s;
using k8s.Autorest;
using k8s.Models;
using VisionPlatform.Training.Kubernetes.TestCluster.Tests.Api;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Validation;

[Collection("api")]
public sealed class NetworkPolicyValidationTests(ApiFixture fixture)
{
    [Fact]
    public async Task Network_policies_are_stored_with_the_apiservers_defaults()
    {
        var ns = await fixture.NewNamespaceAsync();

        var created = await fixture.Client.NetworkingV1.CreateNamespacedNetworkPolicyAsync(new V1NetworkPolicy
        {
            Metadata = new V1ObjectMeta { Name = "egress" },
            Spec = new V1NetworkPolicySpec
            {
                PodSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "training-job" } },
                Egress = [new V1NetworkPolicyEgressRule { Ports = [new V1NetworkPolicyPort { Port = 443 }] }],
            },
        }, ns);

        created.Spec.PolicyTypes.Should().Equal("Ingress", "Egress");
        created.Spec.Egress[0].Ports[0].Protocol.Should().Be("TCP");
        (await fixture.Client.NetworkingV1.ListNamespacedNetworkPolicyAsync(ns)).Items.Should().ContainSingle();
    }

    [Fact]
    public async Task Bad_ports_peers_and_policy_types_are_rejected()
    {
        var ns = await fixture.NewNamespaceAsync();

        var error = (await fixture.Client.NetworkingV1.Invoking(n => n.CreateNamespacedNetworkPolicyAsync(new V1NetworkPolicy
        {
            Metadata = new V1ObjectMeta { Name = "bad" },
            Spec = new V1NetworkPolicySpec
            {
                PodSelector = new V1LabelSelector(),
                PolicyTypes = ["Egress", "Sideways"],
                Egress =
                [
                    new V1NetworkPolicyEgressRule
                    {
                        Ports = [new V1NetworkPolicyPort { Protocol = "ICMP", Port = 70000 }],
                        To = [new V1NetworkPolicyPeer()],
                    },
                ],
            },
        }, ns)).Should().ThrowAsync<HttpOperationException>()).Which;

        ((int)error.Response.StatusCode).Should().Be(422);
        var status = KubernetesJson.Deserialize<V1Status>(error.Response.Content);
        status.Details.Causes.Select(c => $"{c.Field}: {c.Message}").Should().BeEquivalentTo(
            "spec.egress[0].ports[0].protocol: Unsupported value: \"ICMP\": supported values: \"TCP\", \"UDP\", \"SCTP\"",
            "spec.egress[0].ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive",
            "spec.egress[0].to[0]: Required value: must specify a peer",
            "spec.policyTypes[1]: Unsupported value: \"Sideways\": supported values: \"Ingress\", \"Egress\"");
    }
}
