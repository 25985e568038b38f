using System.Text.Json;
using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Api.Tables;

/// <summary>The small formatting helpers the apiserver's printers share (labels, selectors, container lists).</summary>
internal static class PrintFormat
{
    public static IEnumerable<JsonObject> Objects(JsonNode? node, params string[] path) =>
        Json.Walk(node, path) is JsonArray array ? array.OfType<JsonObject>() : [];

    public static IEnumerable<string> Strings(JsonNode? node, params string[] path) =>
        Json.Walk(node, path) is JsonArray array
            ? array.Select(n => n is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : "")
            : [];

    /// <summary>layoutContainerCells: container names and images, comma-separated in spec order.</summary>
    public static (string Names, string Images) Containers(JsonNode? podSpec)
    {
        var containers = Objects(podSpec, "containers").ToList();
        return (string.Join(',', containers.Select(c => Json.GetString(c, "name") ?? "")),
            string.Join(',', containers.Select(c => Json.GetString(c, "image") ?? "")));
    }

    /// <summary>labels.FormatLabels: <c>k=v</c> sorted by key, or <c>&lt;none&gt;</c>.</summary>
    public static string Labels(IReadOnlyDictionary<string, string> labels) =>
        labels.Count == 0 ? "<none>" : string.Join(',', labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));

    /// <summary>
    /// metav1.FormatLabelSelector: the selector's requirements sorted by key (<c>k=v</c>, <c>k in (a,b)</c>,
    /// <c>k notin (a,b)</c>, <c>k</c>, <c>!k</c>), or <c>&lt;none&gt;</c> for a missing or empty selector.
    /// </summary>
    public static string LabelSelector(JsonNode? selector)
    {
        if (selector is not JsonObject s)
        {
            return "<none>";
        }

        var requirements = new List<(string Key, string Text)>();
        foreach (var (key, value) in Json.StringMap(s, "matchLabels"))
        {
            requirements.Add((key, $"{key}={value}"));
        }

        foreach (var expression in Objects(s, "matchExpressions"))
        {
            var key = Json.GetString(expression, "key") ?? "";
            var values = string.Join(',', Strings(expression, "values").Order(StringComparer.Ordinal));
            var text = Json.GetString(expression, "operator") switch
            {
                "In" => $"{key} in ({values})",
                "NotIn" => $"{key} notin ({values})",
                "Exists" => key,
                "DoesNotExist" => "!" + key,
                _ => null,
            };
            if (text is null)
            {
                return "<error>";
            }

            requirements.Add((key, text));
        }

        return requirements.Count == 0
            ? "<none>"
            : string.Join(',', requirements.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => r.Text));
    }

    /// <summary>The status of the first condition of a type (<c>True</c>, <c>False</c>, ...), or null without one.</summary>
    public static string? ConditionStatus(JsonNode? obj, string type) =>
        Objects(obj, "status", "conditions").FirstOrDefault(c => Json.GetString(c, "type") == type) is { } condition
            ? Json.GetString(condition, "status")
            : null;

    public static string NoneIfEmpty(string? value) => string.IsNullOrEmpty(value) ? "<none>" : value;
}
