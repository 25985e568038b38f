using System.Globalization;
using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Validation;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Kueue;

/// <summary>
/// What Kueue's CRDs do for all of its types: the CRD defaults (applied at decode, as structural defaulting does) and,
/// for types with a status subresource, a create that drops <c>status</c>. Validation covers only the fields the
/// simulation relies on, with the messages the CRD schema and Kueue's webhooks give.
/// </summary>
internal abstract class KueueStrategy(ResourceType type) : GenericStrategy(type, NameRules.Dns1123Subdomain, KueueNames.HasStatus(type))
{
    public override void PrepareForCreate(JsonObject obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        if (KueueNames.HasStatus(Type))
        {
            // a CRD with the status subresource ignores status on create
            obj.Remove("status");
        }

        base.PrepareForCreate(obj);
    }

    /// <summary>A required quantity field: missing, or not a quantity.</summary>
    protected static void ValidateQuantity(JsonNode? value, string path, FieldErrors errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (value is null)
        {
            errors.Required(path);
        }
        else if (!Quantity.TryParse(value.ToString(), out _, out var error))
        {
            errors.Invalid(path, value.ToString(), error ?? Quantity.FormatError);
        }
    }
}

/// <summary>ResourceFlavors: <c>spec.nodeLabels</c> must be a map of strings (they are injected into pod templates).</summary>
internal sealed class ResourceFlavorStrategy() : KueueStrategy(ResourceType.ResourceFlavors)
{
    protected override void Validate(JsonObject obj, FieldErrors errors)
    {
        foreach (var (key, value) in obj.ObjOrNull("spec").ObjOrNull("nodeLabels") ?? [])
        {
            errors.InvalidEach($"spec.nodeLabels[{key}]", key, NameRules.QualifiedName(key));
            if (value is not JsonValue v || !v.TryGetValue(out string? _))
            {
                errors.Invalid($"spec.nodeLabels[{key}]", value?.ToJsonString() ?? "null", "must be a string");
            }
        }
    }
}

/// <summary>
/// ClusterQueues: the CRD defaults (<c>queueingStrategy: BestEffortFIFO</c>, <c>preemption.withinClusterQueue:
/// Never</c>) and the checks the admission relies on: known enum values, every flavor listing exactly the covered
/// resources in order, quotas that are quantities, no resource covered twice.
/// </summary>
internal sealed class ClusterQueueStrategy() : KueueStrategy(ResourceType.ClusterQueues)
{
    public static readonly string[] QueueingStrategies = ["StrictFIFO", "BestEffortFIFO"];

    public static readonly string[] WithinClusterQueuePolicies = ["Never", "LowerPriority", "LowerOrNewerEqualPriority"];

    public override void Decode(JsonObject obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var spec = obj.Obj("spec");
        spec["queueingStrategy"] ??= "BestEffortFIFO";
        var preemption = spec.Obj("preemption");
        preemption["withinClusterQueue"] ??= "Never";
        preemption["reclaimWithinCohort"] ??= "Never";
        spec["resourceGroups"] ??= new JsonArray();
    }

    protected override void Validate(JsonObject obj, FieldErrors errors)
    {
        var spec = obj.ObjOrNull("spec");
        if (spec.Str("queueingStrategy") is { } strategy && !QueueingStrategies.Contains(strategy))
        {
            errors.NotSupported("spec.queueingStrategy", strategy, QueueingStrategies);
        }

        if (spec.ObjOrNull("preemption").Str("withinClusterQueue") is { } within && !WithinClusterQueuePolicies.Contains(within))
        {
            errors.NotSupported("spec.preemption.withinClusterQueue", within, WithinClusterQueuePolicies);
        }

        var covered = new HashSet<string>(StringComparer.Ordinal);
        var groups = spec.ArrOrNull("resourceGroups").Objects().ToList();
        for (var g = 0; g < groups.Count; g++)
        {
            var path = $"spec.resourceGroups[{g.ToString(CultureInfo.InvariantCulture)}]";
            var resources = groups[g].Strings("coveredResources");
            if (resources.Count == 0)
            {
                errors.Required(path + ".coveredResources");
            }

            foreach (var resource in resources)
            {
                if (!covered.Add(resource))
                {
                    errors.Duplicate(path + ".coveredResources", resource);
                }
            }

            var flavors = groups[g].ArrOrNull("flavors").Objects().ToList();
            if (flavors.Count == 0)
            {
                errors.Required(path + ".flavors");
            }

            for (var f = 0; f < flavors.Count; f++)
            {
                var flavorPath = $"{path}.flavors[{f.ToString(CultureInfo.InvariantCulture)}]";
                if (string.IsNullOrEmpty(flavors[f].Str("name")))
                {
                    errors.Required(flavorPath + ".name");
                }

                var quotas = flavors[f].ArrOrNull("resources").Objects().ToList();
                if (!quotas.Select(q => q.Str("name") ?? "").SequenceEqual(resources, StringComparer.Ordinal))
                {
                    errors.Invalid(flavorPath + ".resources", flavors[f].Str("name"),
                        "flavors must have the same number of resources as the coveredResources, and in the same order");
                }

                for (var r = 0; r < quotas.Count; r++)
                {
                    ValidateQuantity(quotas[r]["nominalQuota"], $"{flavorPath}.resources[{r.ToString(CultureInfo.InvariantCulture)}].nominalQuota", errors);
                }
            }
        }
    }
}

/// <summary>LocalQueues: <c>spec.clusterQueue</c> is required and immutable.</summary>
internal sealed class LocalQueueStrategy() : KueueStrategy(ResourceType.LocalQueues)
{
    protected override void Validate(JsonObject obj, FieldErrors errors)
    {
        if (string.IsNullOrEmpty(obj.ObjOrNull("spec").Str("clusterQueue")))
        {
            errors.Required("spec.clusterQueue");
        }
    }

    protected override void ValidateUpdate(JsonObject updated, JsonObject existing, FieldErrors errors)
    {
        var now = updated.ObjOrNull("spec").Str("clusterQueue");
        if (now != existing.ObjOrNull("spec").Str("clusterQueue"))
        {
            errors.Invalid("spec.clusterQueue", now, "field is immutable");
        }
    }
}

/// <summary>WorkloadPriorityClasses: <c>value</c> is a required 32-bit integer.</summary>
internal sealed class WorkloadPriorityClassStrategy() : KueueStrategy(ResourceType.WorkloadPriorityClasses)
{
    protected override void Validate(JsonObject obj, FieldErrors errors)
    {
        if (obj["value"] is null)
        {
            errors.Required("value");
        }
        else if (obj.Long("value") is not { } value || value is < int.MinValue or > int.MaxValue || obj["value"] is JsonValue v && v.TryGetValue(out string? _))
        {
            errors.InvalidRaw("value", obj["value"]!.ToJsonString(), "must be a 32-bit integer");
        }
    }
}

/// <summary>Workloads: at least one pod set, each with a name and a count of at least 0; queueName immutable once admitted.</summary>
internal sealed class WorkloadStrategy() : KueueStrategy(ResourceType.Workloads)
{
    protected override void Validate(JsonObject obj, FieldErrors errors)
    {
        var podSets = obj.ObjOrNull("spec").ArrOrNull("podSets").Objects().ToList();
        if (podSets.Count == 0)
        {
            errors.Required("spec.podSets");
        }

        for (var i = 0; i < podSets.Count; i++)
        {
            var path = $"spec.podSets[{i.ToString(CultureInfo.InvariantCulture)}]";
            if (string.IsNullOrEmpty(podSets[i].Str("name")))
            {
                errors.Required(path + ".name");
            }

            if (podSets[i].Long("count") is { } count && count < 0)
            {
                errors.Invalid(path + ".count", count, "must be greater than or equal to 0");
            }
        }
    }

    protected override void ValidateUpdate(JsonObject updated, JsonObject existing, FieldErrors errors)
    {
        var queue = updated.ObjOrNull("spec").Str("queueName");
        if (existing.ObjOrNull("status")?["admission"] is JsonObject && queue != existing.ObjOrNull("spec").Str("queueName"))
        {
            errors.Invalid("spec.queueName", queue, "field is immutable");
        }
    }
}
