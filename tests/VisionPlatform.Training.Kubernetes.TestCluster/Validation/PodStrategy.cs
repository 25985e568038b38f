using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Validation;

/// <summary>
/// Pods created through the API: pod defaults and admission defaults at decode, status reset to Pending with
/// the QoS class on create, ValidatePodSpec, and the pod update rule (only images, activeDeadlineSeconds and
/// tolerations may change).
/// </summary>
internal sealed class PodStrategy(KubernetesTestClusterOptions options) : GenericStrategy(ResourceType.Pods, NameRules.Dns1123Subdomain, hasStatus: true)
{
    private readonly PodSpecValidator _podSpec = new(options.StrictEnvironmentVariableNames);

    public override void Decode(JsonObject obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        if (obj["spec"] is not JsonObject spec)
        {
            spec = [];
            obj["spec"] = spec;
        }

        PodDefaults.DecodeQuantities(spec, ResourceType.Pods);
        PodDefaults.ApplyPodDefaults(obj);
    }

    public override void PrepareForCreate(JsonObject obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        obj["status"] = new JsonObject
        {
            ["phase"] = "Pending",
            ["qosClass"] = PodDefaults.QosClass(obj["spec"] as JsonObject ?? []),
        };
        base.PrepareForCreate(obj);
    }

    protected override void Validate(JsonObject obj, FieldErrors errors) =>
        _podSpec.Validate(obj["spec"] as JsonObject ?? [], "spec", isTemplate: false, errors);

    protected override void ValidateUpdate(JsonObject updated, JsonObject existing, FieldErrors errors)
    {
        static JsonNode? Mutable(JsonObject pod)
        {
            var spec = (pod["spec"] as JsonObject ?? []).DeepClone().AsObject();
            spec.Remove("activeDeadlineSeconds");
            spec.Remove("tolerations");
            foreach (var container in PodDefaults.Containers(spec))
            {
                container.Remove("image");
            }

            return spec;
        }

        if (!JsonNode.DeepEquals(Mutable(updated), Mutable(existing)))
        {
            errors.Forbidden("spec",
                "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)");
        }
    }
}
