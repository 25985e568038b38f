using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Validation;

/// <summary>
/// coordination.k8s.io/v1 Leases, validated as <c>pkg/apis/coordination/validation</c> does: a DNS-1123 subdomain name,
/// <c>spec.leaseDurationSeconds</c> greater than 0 and <c>spec.leaseTransitions</c> not negative when set. Updates are
/// plain optimistic-concurrency writes (a stale <c>metadata.resourceVersion</c> is 409 Conflict), which is what leader
/// election relies on; no controller acts on Leases.
/// </summary>
internal sealed class LeaseStrategy() : GenericStrategy(ResourceType.Leases, NameRules.Dns1123Subdomain, hasStatus: false)
{
    protected override void Validate(JsonObject obj, FieldErrors errors)
    {
        if (Json.GetLong(obj, "spec", "leaseDurationSeconds") is { } duration && duration <= 0)
        {
            errors.Invalid("spec.leaseDurationSeconds", duration, "must be greater than 0");
        }

        if (Json.GetLong(obj, "spec", "leaseTransitions") is { } transitions && transitions < 0)
        {
            errors.Invalid("spec.leaseTransitions", transitions, "must be greater than or equal to 0");
        }
    }
}
