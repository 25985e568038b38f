using System.Text;
using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Validation;

/// <summary>ValidateObjectMeta and the label/annotation rules (apimachinery pkg/api/validation/objectmeta.go).</summary>
public static class MetaValidator
{
    /// <summary>The total size limit for annotations, in bytes.</summary>
    public const int TotalAnnotationSizeLimit = 256 * 1024;

    /// <summary>Validates an object's metadata: name (with the type's name rule), generateName, namespace, labels, annotations.</summary>
    public static void ValidateObjectMeta(JsonObject obj, ResourceType type, Func<string, IReadOnlyList<string>> nameRule, FieldErrors errors)
    {
        ArgumentNullException.ThrowIfNull(obj);
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(nameRule);
        ArgumentNullException.ThrowIfNull(errors);
        var meta = Json.Metadata(obj);
        var name = Json.GetString(meta, "name") ?? "";
        var generateName = Json.GetString(meta, "generateName") ?? "";
        if (generateName.Length > 0)
        {
            // The trailing dash of a prefix is masked, as the real MaskTrailingDash does.
            var masked = generateName.Length > 1 && generateName.EndsWith('-') ? generateName[..^1] : generateName;
            errors.InvalidEach("metadata.generateName", generateName, nameRule(masked));
        }

        if (name.Length == 0)
        {
            errors.Required("metadata.name", "name or generateName is required");
        }
        else
        {
            errors.InvalidEach("metadata.name", name, nameRule(name));
        }

        var ns = Json.GetString(meta, "namespace") ?? "";
        if (type.Namespaced)
        {
            if (ns.Length == 0)
            {
                errors.Required("metadata.namespace");
            }
            else
            {
                errors.InvalidEach("metadata.namespace", ns, NameRules.Dns1123Label(ns));
            }
        }
        else if (ns.Length > 0)
        {
            errors.Forbidden("metadata.namespace", "not allowed on this type");
        }

        ValidateLabels(meta["labels"] as JsonObject, "metadata.labels", errors);
        ValidateAnnotations(meta["annotations"] as JsonObject, "metadata.annotations", errors);
        ValidateOwnerReferences(meta["ownerReferences"] as JsonArray, errors);
        ValidateFinalizers(meta["finalizers"] as JsonArray, errors);
    }

    /// <summary>Label keys are qualified names; values are label values (≤63).</summary>
    public static void ValidateLabels(JsonObject? labels, string path, FieldErrors errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (labels is null)
        {
            return;
        }

        foreach (var (key, value) in labels)
        {
            errors.InvalidEach(path, key, NameRules.QualifiedName(key));
            var text = value?.GetValueKind() == System.Text.Json.JsonValueKind.String ? value.GetValue<string>() : value?.ToJsonString() ?? "";
            errors.InvalidEach(path, text, NameRules.LabelValue(text));
        }
    }

    /// <summary>Annotation keys are qualified names (checked lowercased); the total size is ≤ 256 KiB.</summary>
    public static void ValidateAnnotations(JsonObject? annotations, string path, FieldErrors errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (annotations is null)
        {
            return;
        }

        long total = 0;
        foreach (var (key, value) in annotations)
        {
            errors.InvalidEach(path, key, NameRules.QualifiedName(key.ToLowerInvariant()));
            var text = value?.GetValueKind() == System.Text.Json.JsonValueKind.String ? value.GetValue<string>() : value?.ToJsonString() ?? "";
            total += Encoding.UTF8.GetByteCount(key) + Encoding.UTF8.GetByteCount(text);
        }

        if (total > TotalAnnotationSizeLimit)
        {
            errors.TooLongBytes(path, TotalAnnotationSizeLimit);
        }
    }

    private static void ValidateOwnerReferences(JsonArray? owners, FieldErrors errors)
    {
        if (owners is null)
        {
            return;
        }

        var controllers = 0;
        for (var i = 0; i < owners.Count; i++)
        {
            var owner = owners[i] as JsonObject ?? [];
            var path = $"metadata.ownerReferences[{i}]";
            if (string.IsNullOrEmpty(Json.GetString(owner, "apiVersion")))
            {
                errors.Invalid(path + ".apiVersion", "", "version must not be empty");
            }

            if (string.IsNullOrEmpty(Json.GetString(owner, "kind")))
            {
                errors.Invalid(path + ".kind", "", "must not be empty");
            }

            if (string.IsNullOrEmpty(Json.GetString(owner, "name")))
            {
                errors.Invalid(path + ".name", "", "must not be empty");
            }

            if (string.IsNullOrEmpty(Json.GetString(owner, "uid")))
            {
                errors.Invalid(path + ".uid", "", "must not be empty");
            }

            if (Json.GetBool(owner, "controller") == true)
            {
                controllers++;
            }
        }

        if (controllers > 1)
        {
            errors.InvalidRaw("metadata.ownerReferences", owners.ToJsonString(), "Only one reference can have Controller set to true");
        }
    }

    private static void ValidateFinalizers(JsonArray? finalizers, FieldErrors errors)
    {
        if (finalizers is null)
        {
            return;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var hasOrphan = false;
        var hasForeground = false;
        for (var i = 0; i < finalizers.Count; i++)
        {
            var value = finalizers[i]?.GetValue<string>() ?? "";
            errors.InvalidEach($"metadata.finalizers[{i}]", value, NameRules.QualifiedName(value));
            if (!seen.Add(value))
            {
                errors.Duplicate($"metadata.finalizers[{i}]", value);
            }

            hasOrphan |= value == ClusterStore.OrphanFinalizer;
            hasForeground |= value == ClusterStore.ForegroundFinalizer;
        }

        if (hasOrphan && hasForeground)
        {
            errors.InvalidRaw("metadata.finalizers", finalizers.ToJsonString(),
                "finalizer orphan and foregroundDeletion cannot be both set");
        }
    }
}
