using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Store;

/// <summary>Small helpers for reading and writing Kubernetes objects held as <see cref="JsonObject"/>.</summary>
public static class Json
{
    /// <summary>The object's <c>metadata</c>, created when missing.</summary>
    public static JsonObject Metadata(JsonObject obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        if (obj["metadata"] is JsonObject meta)
        {
            return meta;
        }

        meta = [];
        obj["metadata"] = meta;
        return meta;
    }

    /// <summary>A string at a path of property names, or null when any step is missing or not a string.</summary>
    public static string? GetString(JsonNode? node, params string[] path)
    {
        var value = Walk(node, path);
        return value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
    }

    /// <summary>An integer at a path, or null.</summary>
    public static long? GetLong(JsonNode? node, params string[] path)
    {
        var value = Walk(node, path);
        if (value is not JsonValue v || v.GetValueKind() != JsonValueKind.Number)
        {
            return null;
        }

        // A JsonValue built from an int only converts to int, one parsed from text to any number type.
        if (v.TryGetValue<long>(out var l))
        {
            return l;
        }

        if (v.TryGetValue<int>(out var i))
        {
            return i;
        }

        return double.TryParse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? (long)d : null;
    }

    /// <summary>A boolean at a path, or null.</summary>
    public static bool? GetBool(JsonNode? node, params string[] path)
    {
        var value = Walk(node, path);
        return value is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False
            ? v.GetValue<bool>()
            : null;
    }

    /// <summary>The node at a path of property names, or null.</summary>
    public static JsonNode? Walk(JsonNode? node, params string[] path)
    {
        ArgumentNullException.ThrowIfNull(path);
        foreach (var step in path)
        {
            if (node is not JsonObject o || !o.TryGetPropertyValue(step, out node))
            {
                return null;
            }
        }

        return node;
    }

    /// <summary>The object's finalizers (empty when none).</summary>
    public static IReadOnlyList<string> Finalizers(JsonObject obj) =>
        Walk(obj, "metadata", "finalizers") is JsonArray a
            ? a.Select(n => n?.GetValueKind() == JsonValueKind.String ? n.GetValue<string>() : "").Where(s => s.Length > 0).ToList()
            : [];

    /// <summary>Sets (or removes, when empty) the object's finalizers.</summary>
    public static void SetFinalizers(JsonObject obj, IEnumerable<string> finalizers)
    {
        var meta = Metadata(obj);
        var list = finalizers.ToList();
        if (list.Count == 0)
        {
            meta.Remove("finalizers");
        }
        else
        {
            meta["finalizers"] = new JsonArray(list.Select(f => (JsonNode)JsonValue.Create(f)!).ToArray());
        }
    }

    /// <summary>The object's string map at a path (labels, annotations, nodeSelector), empty when missing.</summary>
    public static IReadOnlyDictionary<string, string> StringMap(JsonNode? node, params string[] path)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Walk(node, path) is JsonObject map)
        {
            foreach (var (key, value) in map)
            {
                result[key] = value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : value?.ToJsonString() ?? "";
            }
        }

        return result;
    }

    /// <summary>Formats a time the way metav1.Time does: RFC3339 with whole seconds.</summary>
    public static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>Parses an RFC3339 time as written by <see cref="FormatTime"/> or by a client.</summary>
    public static DateTimeOffset? ParseTime(string? value) =>
        DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t)
            ? t
            : null;

    /// <summary>Compact JSON text of a node, as the API server writes it.</summary>
    public static string Compact(JsonNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return node.ToJsonString(CompactOptions);
    }

    /// <summary>
    /// <see cref="Compact"/> as UTF-8 with a trailing newline, the body of a response. Written into an unpooled buffer:
    /// a list of 500 Jobs is about 2 MB, and the pooled buffers <see cref="JsonNode.ToJsonString"/> grows through would
    /// stay parked in the shared array pool of every thread that served one, inflating the managed heap of the process
    /// the SDK under test runs in (the monitor benchmark's memory figure counted some 25 MB of them).
    /// </summary>
    public static byte[] CompactLine(JsonNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(4096);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = CompactOptions.Encoder, Indented = false }))
        {
            node.WriteTo(writer, CompactOptions);
        }

        var bytes = new byte[buffer.WrittenCount + 1];
        buffer.WrittenSpan.CopyTo(bytes);
        bytes[^1] = (byte)'\n';
        return bytes;
    }

    private static readonly JsonSerializerOptions CompactOptions = new()
    {
        WriteIndented = false,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}
