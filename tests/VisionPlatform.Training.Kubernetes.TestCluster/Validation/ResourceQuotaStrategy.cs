using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Validation;

/// <summary>
/// ResourceQuotas: quantities in <c>spec.hard</c> canonicalized at decode (a malformed one is a 400), status owned by the
/// quota controller (cleared on create, kept on update), and <c>spec.hard</c> values not negative.
/// </summary>
internal sealed class ResourceQuotaStrategy() : GenericStrategy(ResourceType.ResourceQuotas, NameRules.Dns1123Subdomain, hasStatus: true)
{
    public override void Decode(JsonObject obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        foreach (var path in new[] { new[] { "spec", "hard" }, ["status", "hard"], ["status", "used"] })
        {
            if (Json.Walk(obj, path) is JsonObject list)
            {
                PodDefaults.CanonicalizeAll(list, Type);
            }
        }
    }

    public override void PrepareForCreate(JsonObject obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        obj.Remove("status");
        base.PrepareForCreate(obj);
    }

    protected override void Validate(JsonObject obj, FieldErrors errors)
    {
        if (Json.Walk(obj, "spec", "hard") is not JsonObject hard)
        {
            return;
        }

        foreach (var (name, value) in hard)
        {
            if (value?.GetValue<string>() is { } text && text.StartsWith('-'))
            {
                errors.InvalidRaw($"spec.hard[{name}]", FieldErrors.Quote(text), "must be greater than or equal to 0");
            }
        }
    }
}

/// <summary>
/// LimitRanges: quantities canonicalized at decode and SetDefaults_LimitRangeItem for Container items (a <c>max</c>
/// without a <c>default</c> becomes the default limit, a <c>default</c> without a <c>defaultRequest</c> the default
/// request); <c>type</c> is Container, Pod or PersistentVolumeClaim.
/// </summary>
internal sealed class LimitRangeStrategy() : GenericStrategy(ResourceType.LimitRanges, NameRules.Dns1123Subdomain, hasStatus: false)
{
    private static readonly string[] Sections = ["max", "min", "default", "defaultRequest", "maxLimitRequestRatio"];

    public override void Decode(JsonObject obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        foreach (var item in (Json.Walk(obj, "spec", "limits") as JsonArray ?? []).OfType<JsonObject>())
        {
            foreach (var section in Sections)
            {
                if (item[section] is JsonObject list)
                {
                    PodDefaults.CanonicalizeAll(list, Type);
                }
            }

            if (Json.GetString(item, "type") != "Container")
            {
                continue;
            }

            DefaultFrom(item, "max", "default");
            DefaultFrom(item, "default", "defaultRequest");
        }
    }

    protected override void Validate(JsonObject obj, FieldErrors errors)
    {
        var limits = Json.Walk(obj, "spec", "limits") as JsonArray ?? [];
        for (var i = 0; i < limits.Count; i++)
        {
            var type = Json.GetString(limits[i], "type") ?? "";
            if (type is not ("Container" or "Pod" or "PersistentVolumeClaim"))
            {
                errors.NotSupported($"spec.limits[{i}].type", type, "Container", "PersistentVolumeClaim", "Pod");
            }
        }
    }

    private static void DefaultFrom(JsonObject item, string from, string to)
    {
        if (item[from] is not JsonObject source)
        {
            return;
        }

        if (item[to] is not JsonObject target)
        {
            target = [];
            item[to] = target;
        }

        foreach (var (name, value) in source)
        {
            if (!target.ContainsKey(name))
            {
                target[name] = value?.DeepClone();
            }
        }
    }
}
