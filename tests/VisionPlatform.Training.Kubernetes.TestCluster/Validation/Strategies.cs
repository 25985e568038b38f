using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Api;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Validation;

/// <summary>The registry strategy for every served type.</summary>
internal static class Strategies
{
    public static Dictionary<ResourceType, IResourceStrategy> Create(KubernetesTestClusterOptions options) => new()
    {
        [ResourceType.Namespaces] = new NamespaceStrategy(),
        [ResourceType.Nodes] = new GenericStrategy(ResourceType.Nodes, NameRules.Dns1123Subdomain, hasStatus: true),
        [ResourceType.Pods] = new PodStrategy(options),
        [ResourceType.Jobs] = new JobStrategy(options),
        [ResourceType.Secrets] = new SecretStrategy(),
        [ResourceType.ConfigMaps] = new ConfigMapStrategy(),
        [ResourceType.ServiceAccounts] = new GenericStrategy(ResourceType.ServiceAccounts, NameRules.Dns1123Subdomain, hasStatus: false),
        [ResourceType.Events] = new GenericStrategy(ResourceType.Events, NameRules.Dns1123Subdomain, hasStatus: false),
        [ResourceType.Roles] = new RoleStrategy(),
        [ResourceType.RoleBindings] = new RoleBindingStrategy(),
        [ResourceType.NetworkPolicies] = new NetworkPolicyStrategy(),
        [ResourceType.Services] = new ServiceStrategy(),
        [ResourceType.EndpointSlices] = new EndpointSliceStrategy(),
        [ResourceType.Leases] = new LeaseStrategy(),
        [ResourceType.ResourceQuotas] = new ResourceQuotaStrategy(),
        [ResourceType.LimitRanges] = new LimitRangeStrategy(),
        [ResourceType.ResourceFlavors] = new Kueue.ResourceFlavorStrategy(),
        [ResourceType.ClusterQueues] = new Kueue.ClusterQueueStrategy(),
        [ResourceType.LocalQueues] = new Kueue.LocalQueueStrategy(),
        [ResourceType.WorkloadPriorityClasses] = new Kueue.WorkloadPriorityClassStrategy(),
        [ResourceType.Workloads] = new Kueue.WorkloadStrategy(),
        [ResourceType.EventsV1] = new ReadOnlyViewStrategy(ResourceType.EventsV1, "write Events through core/v1 (/api/v1/namespaces/<ns>/events)"),
    };
}

/// <summary>
/// The behaviour every type shares: ObjectMeta validation with the type's name rule; with a status subresource,
/// the main resource cannot change status and the status subresource can change only status.
/// </summary>
internal class GenericStrategy(ResourceType type, Func<string, IReadOnlyList<string>> nameRule, bool hasStatus) : IResourceStrategy
{
    protected ResourceType Type { get; } = type;

    public virtual void Decode(JsonObject obj)
    {
    }

    public virtual void PrepareForCreate(JsonObject obj)
    {
        var errors = new FieldErrors();
        MetaValidator.ValidateObjectMeta(obj, Type, nameRule, errors);
        Validate(obj, errors);
        errors.ThrowIfAny(Type, Json.GetString(obj, "metadata", "name") ?? "");
    }

    public virtual JsonObject PrepareForUpdate(JsonObject updated, JsonObject existing)
    {
        ArgumentNullException.ThrowIfNull(updated);
        ArgumentNullException.ThrowIfNull(existing);
        var result = updated.DeepClone().AsObject();
        // rest.BeforeUpdate: an update (PUT, or the result of a PATCH) without a uid keeps the stored one; one with another
        // uid is refused by ValidateObjectMetaUpdate (422 "field is immutable"): a uid in the body acts as a precondition.
        var uidErrors = new FieldErrors();
        if (Json.GetString(updated, "metadata", "uid") is { Length: > 0 } uid && uid != Json.GetString(existing, "metadata", "uid"))
        {
            uidErrors.Invalid("metadata.uid", uid, "field is immutable");
            uidErrors.ThrowIfAny(Type, Json.GetString(existing, "metadata", "name") ?? "");
        }

        CopySystemMeta(existing, result);
        if (hasStatus)
        {
            result["status"] = existing["status"]?.DeepClone();
            if (result["status"] is null)
            {
                result.Remove("status");
            }
        }

        var errors = new FieldErrors();
        MetaValidator.ValidateObjectMeta(result, Type, nameRule, errors);
        Validate(result, errors);
        ValidateUpdate(result, existing, errors);
        errors.ThrowIfAny(Type, Json.GetString(result, "metadata", "name") ?? "");
        return result;
    }

    public virtual JsonObject PrepareForStatusUpdate(JsonObject updated, JsonObject existing)
    {
        ArgumentNullException.ThrowIfNull(updated);
        ArgumentNullException.ThrowIfNull(existing);
        var result = existing.DeepClone().AsObject();
        result["status"] = updated["status"]?.DeepClone();
        if (result["status"] is null)
        {
            result.Remove("status");
        }

        return result;
    }

    /// <summary>Type-specific validation on create and update.</summary>
    protected virtual void Validate(JsonObject obj, FieldErrors errors)
    {
    }

    /// <summary>Type-specific immutability checks on update.</summary>
    protected virtual void ValidateUpdate(JsonObject updated, JsonObject existing, FieldErrors errors)
    {
    }

    /// <summary>Fields the server owns: a client's PUT cannot change them.</summary>
    protected static void CopySystemMeta(JsonObject from, JsonObject to)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        var source = Json.Metadata(from);
        var target = Json.Metadata(to);
        foreach (var field in new[] { "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "namespace" })
        {
            if (source[field] is { } value)
            {
                target[field] = value.DeepClone();
            }
            else
            {
                target.Remove(field);
            }
        }
    }
}

/// <summary>Namespaces: DNS-1123 label names, the metadata.name label, the kubernetes finalizer, phase Active.</summary>
internal sealed class NamespaceStrategy() : GenericStrategy(ResourceType.Namespaces, NameRules.Dns1123Label, hasStatus: true)
{
    public override void PrepareForCreate(JsonObject obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var meta = Json.Metadata(obj);
        if (meta["labels"] is not JsonObject labels)
        {
            labels = [];
            meta["labels"] = labels;
        }

        labels["kubernetes.io/metadata.name"] = Json.GetString(meta, "name") ?? "";
        obj["spec"] = new JsonObject { ["finalizers"] = new JsonArray("kubernetes") };
        obj["status"] = new JsonObject { ["phase"] = "Active" };
        base.PrepareForCreate(obj);
    }
}

/// <summary>Secrets: type defaults to Opaque, stringData is folded into data, keys are config keys.</summary>
internal sealed class SecretStrategy() : GenericStrategy(ResourceType.Secrets, NameRules.Dns1123Subdomain, hasStatus: false)
{
    public override void Decode(JsonObject obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        if (string.IsNullOrEmpty(Json.GetString(obj, "type")))
        {
            obj["type"] = "Opaque";
        }

        if (obj["stringData"] is JsonObject stringData)
        {
            if (obj["data"] is not JsonObject data)
            {
                data = [];
                obj["data"] = data;
            }

            foreach (var (key, value) in stringData)
            {
                data[key] = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(value?.GetValue<string>() ?? ""));
            }

            obj.Remove("stringData");
        }
    }

    protected override void Validate(JsonObject obj, FieldErrors errors)
    {
        long total = 0;
        if (obj["data"] is JsonObject data)
        {
            foreach (var (key, value) in data)
            {
                errors.InvalidEach("data[" + key + "]", key, NameRules.ConfigMapKey(key));
                var text = value?.GetValue<string>() ?? "";
                try
                {
                    total += Convert.FromBase64String(text).Length;
                }
                catch (FormatException)
                {
                    throw StoreException.BadRequest($"Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data at input byte 0");
                }
            }
        }

        if (total > 1024 * 1024)
        {
            errors.TooLongBytes("data", 1024 * 1024);
        }
    }
}

/// <summary>ConfigMaps: keys are config keys, unique across data and binaryData.</summary>
internal sealed class ConfigMapStrategy() : GenericStrategy(ResourceType.ConfigMaps, NameRules.Dns1123Subdomain, hasStatus: false)
{
    protected override void Validate(JsonObject obj, FieldErrors errors)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var section in new[] { "data", "binaryData" })
        {
            if (obj[section] is JsonObject map)
            {
                foreach (var (key, _) in map)
                {
                    errors.InvalidEach($"{section}[{key}]", key, NameRules.ConfigMapKey(key));
                    if (!keys.Add(key))
                    {
                        errors.InvalidRaw($"{section}[{key}]", FieldErrors.Quote(key), "duplicate of key present in " + (section == "data" ? "binaryData" : "data"));
                    }
                }
            }
        }
    }
}

/// <summary>RBAC Roles: every rule needs verbs, and resources with apiGroups; no non-resource URLs.</summary>
internal sealed class RoleStrategy() : GenericStrategy(ResourceType.Roles, RbacNameRule, hasStatus: false)
{
    internal static IReadOnlyList<string> RbacNameRule(string name) =>
        name.Contains('/', StringComparison.Ordinal) ? ["may not contain '/'"]
        : name.Contains('%', StringComparison.Ordinal) ? ["may not contain '%'"]
        : name is "." or ".." ? [$"may not be '{name}'"]
        : [];

    protected override void Validate(JsonObject obj, FieldErrors errors)
    {
        if (obj["rules"] is not JsonArray rules)
        {
            return;
        }

        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i] as JsonObject ?? [];
            var path = $"rules[{i}]";
            if (Count(rule, "verbs") == 0)
            {
                errors.Required(path + ".verbs", "verbs must contain at least one value");
            }

            if (Count(rule, "nonResourceURLs") > 0)
            {
                errors.InvalidRaw(path + ".nonResourceURLs", rule["nonResourceURLs"]!.ToJsonString(), "namespaced rules cannot apply to non-resource URLs");
            }

            if (Count(rule, "resources") > 0 && Count(rule, "apiGroups") == 0)
            {
                errors.Required(path + ".apiGroups", "resource rules must supply at least one api group");
            }

            if (Count(rule, "resources") == 0 && Count(rule, "nonResourceURLs") == 0)
            {
                errors.Required(path + ".resources", "resource rules must supply at least one resource");
            }
        }
    }

    private static int Count(JsonObject rule, string field) => rule[field] is JsonArray a ? a.Count : 0;
}

/// <summary>RBAC RoleBindings: a valid roleRef (immutable) and valid subjects.</summary>
internal sealed class RoleBindingStrategy() : GenericStrategy(ResourceType.RoleBindings, RoleStrategy.RbacNameRule, hasStatus: false)
{
    private const string RbacGroup = "rbac.authorization.k8s.io";

    protected override void Validate(JsonObject obj, FieldErrors errors)
    {
        var roleRef = obj["roleRef"] as JsonObject ?? [];
        var apiGroup = Json.GetString(roleRef, "apiGroup") ?? "";
        if (apiGroup != RbacGroup)
        {
            errors.NotSupported("roleRef.apiGroup", apiGroup, RbacGroup);
        }

        var kind = Json.GetString(roleRef, "kind") ?? "";
        if (kind is not ("Role" or "ClusterRole"))
        {
            errors.NotSupported("roleRef.kind", kind, "Role", "ClusterRole");
        }

        var name = Json.GetString(roleRef, "name") ?? "";
        if (name.Length == 0)
        {
            errors.Required("roleRef.name");
        }
        else
        {
            errors.InvalidEach("roleRef.name", name, RoleStrategy.RbacNameRule(name));
        }

        if (obj["subjects"] is not JsonArray subjects)
        {
            return;
        }

        for (var i = 0; i < subjects.Count; i++)
        {
            var subject = subjects[i] as JsonObject ?? [];
            var path = $"subjects[{i}]";
            var subjectName = Json.GetString(subject, "name") ?? "";
            var subjectKind = Json.GetString(subject, "kind") ?? "";
            var subjectGroup = Json.GetString(subject, "apiGroup") ?? "";
            if (subjectName.Length == 0)
            {
                errors.Required(path + ".name");
            }

            switch (subjectKind)
            {
                case "ServiceAccount":
                    if (subjectGroup.Length > 0)
                    {
                        errors.NotSupported(path + ".apiGroup", subjectGroup, "");
                    }

                    if (subjectName.Length > 0)
                    {
                        errors.InvalidEach(path + ".name", subjectName, NameRules.Dns1123Subdomain(subjectName));
                    }

                    break;
                case "User":
                case "Group":
                    if (subjectGroup != RbacGroup)
                    {
                        errors.NotSupported(path + ".apiGroup", subjectGroup, RbacGroup);
                    }

                    break;
                default:
                    errors.NotSupported(path + ".kind", subjectKind, "ServiceAccount", "User", "Group");
                    break;
            }
        }
    }

    protected override void ValidateUpdate(JsonObject updated, JsonObject existing, FieldErrors errors)
    {
        if (!JsonNode.DeepEquals(updated["roleRef"], existing["roleRef"]))
        {
            errors.InvalidRaw("roleRef", updated["roleRef"]?.ToJsonString() ?? "null", "cannot change roleRef");
        }
    }
}

/// <summary>A type served as a read-only view of another: creates and updates are 405 MethodNotAllowed saying where to write.</summary>
internal sealed class ReadOnlyViewStrategy(ResourceType type, string hint) : GenericStrategy(type, NameRules.Dns1123Subdomain, hasStatus: false)
{
    public override void PrepareForCreate(JsonObject obj) => throw Refuse("create");

    public override JsonObject PrepareForUpdate(JsonObject updated, JsonObject existing) => throw Refuse("update");

    private StoreException Refuse(string verb) =>
        new(405, "MethodNotAllowed", $"{verb} is not supported on resources of kind \"{Type.QualifiedResource}\" by the test cluster: {hint}");
}
