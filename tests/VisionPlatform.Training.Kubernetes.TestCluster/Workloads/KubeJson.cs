using System.Globalization;
using System.Text.Json.Nodes;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

/// <summary>
/// Small readers and writers over Kubernetes objects held as <see cref="JsonObject"/>, so the controllers,
/// the scheduler and the node agent read the same fields the same way.
/// </summary>
internal static class KubeJson
{
    /// <summary>Kubernetes <c>metav1.Time</c>: RFC 3339 with one-second precision.</summary>
    public static string Timestamp(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>The kubelet's log timestamp: RFC 3339 with nine fractional digits.</summary>
    public static string LogTimestamp(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'00Z'", CultureInfo.InvariantCulture);

    public static DateTimeOffset? ParseTime(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue(out string? text)
        && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed)
            ? parsed
            : null;

    public static JsonObject Obj(this JsonObject parent, string name)
    {
        if (parent[name] is JsonObject existing)
        {
            return existing;
        }

        var created = new JsonObject();
        parent[name] = created;
        return created;
    }

    public static JsonObject? ObjOrNull(this JsonNode? parent, string name) => parent?[name] as JsonObject;

    public static JsonArray? ArrOrNull(this JsonNode? parent, string name) => parent?[name] as JsonArray;

    public static IEnumerable<JsonObject> Objects(this JsonArray? array) =>
        array is null ? [] : array.OfType<JsonObject>();

    public static string? Str(this JsonNode? parent, string name) =>
        parent?[name] is JsonValue value && value.TryGetValue(out string? text) ? text : null;

    public static long? Long(this JsonNode? parent, string name) => AsLong(parent?[name]);

    /// <summary>A number held in any form (int, long, double or a numeric string).</summary>
    public static long? AsLong(JsonNode? node)
    {
        if (node is not JsonValue value)
        {
            return null;
        }

        if (value.TryGetValue(out long l))
        {
            return l;
        }

        if (value.TryGetValue(out int i))
        {
            return i;
        }

        if (value.TryGetValue(out double d))
        {
            return (long)d;
        }

        return value.TryGetValue(out string? s) && long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var p) ? p : null;
    }

    public static int? Int(this JsonNode? parent, string name) => parent.Long(name) is { } l ? (int)l : null;

    public static bool? Bool(this JsonNode? parent, string name) =>
        parent?[name] is JsonValue value && value.TryGetValue(out bool b) ? b : null;

    public static JsonObject Metadata(this JsonObject obj) => obj.Obj("metadata");

    public static string Name(this JsonObject obj) => obj.ObjOrNull("metadata").Str("name") ?? string.Empty;

    public static string Namespace(this JsonObject obj) => obj.ObjOrNull("metadata").Str("namespace") ?? string.Empty;

    public static string Uid(this JsonObject obj) => obj.ObjOrNull("metadata").Str("uid") ?? string.Empty;

    public static bool HasDeletionTimestamp(this JsonObject obj) => obj.ObjOrNull("metadata").Str("deletionTimestamp") is not null;

    public static string? Label(this JsonObject obj, string key) => obj.ObjOrNull("metadata").ObjOrNull("labels").Str(key);

    public static string? Annotation(this JsonObject obj, string key) => obj.ObjOrNull("metadata").ObjOrNull("annotations").Str(key);

    public static IReadOnlyList<string> Finalizers(this JsonObject obj) =>
        obj.ObjOrNull("metadata").ArrOrNull("finalizers")?.Select(n => n?.GetValue<string>() ?? string.Empty).ToList() ?? [];

    public static bool HasFinalizer(this JsonObject obj, string finalizer) => obj.Finalizers().Contains(finalizer, StringComparer.Ordinal);

    /// <summary>Removes a finalizer in place; drops the list when it becomes empty. Returns whether it was present.</summary>
    public static bool RemoveFinalizer(this JsonObject obj, string finalizer)
    {
        var metadata = obj.Metadata();
        if (metadata["finalizers"] is not JsonArray array)
        {
            return false;
        }

        var kept = array.Select(n => n?.GetValue<string>()).Where(f => f is not null && f != finalizer).ToList();
        if (kept.Count == array.Count)
        {
            return false;
        }

        if (kept.Count == 0)
        {
            metadata.Remove("finalizers");
        }
        else
        {
            metadata["finalizers"] = new JsonArray(kept.Select(f => (JsonNode?)JsonValue.Create(f)).ToArray());
        }

        return true;
    }

    /// <summary>The uid of the object's controller owner reference, if any.</summary>
    public static JsonObject? ControllerRef(this JsonObject obj) =>
        obj.ObjOrNull("metadata").ArrOrNull("ownerReferences").Objects().FirstOrDefault(r => r.Bool("controller") == true);

    public static string? PodPhase(this JsonObject pod) => pod.ObjOrNull("status").Str("phase");

    public static bool IsTerminal(this JsonObject pod) => pod.PodPhase() is "Succeeded" or "Failed";

    public static JsonObject? Condition(this JsonObject obj, string type) =>
        obj.ObjOrNull("status").ArrOrNull("conditions").Objects().FirstOrDefault(c => c.Str("type") == type);

    public static bool ConditionIsTrue(this JsonObject obj, string type) => obj.Condition(type).Str("status") == "True";

    public static JsonArray StringArray(IEnumerable<string> values) =>
        new(values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());

    public static IReadOnlyList<string> Strings(this JsonNode? parent, string name) =>
        parent.ArrOrNull(name)?.Select(n => n is JsonValue v && v.TryGetValue(out string? s) ? s : n?.ToJsonString() ?? string.Empty).ToList() ?? [];
}
