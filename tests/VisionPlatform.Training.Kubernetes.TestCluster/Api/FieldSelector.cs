using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Api;

/// <summary>
/// A parsed field selector (<c>metadata.name=x,status.phase!=Running</c>) limited to the fields the apiserver
/// supports for each type; any other field is a 400 "field label not supported".
/// </summary>
public sealed class FieldSelector
{
    private static readonly Dictionary<ResourceType, Dictionary<string, string[]>> Supported = new()
    {
        [ResourceType.Pods] = new()
        {
            ["spec.nodeName"] = ["spec", "nodeName"],
            ["spec.restartPolicy"] = ["spec", "restartPolicy"],
            ["spec.schedulerName"] = ["spec", "schedulerName"],
            ["spec.serviceAccountName"] = ["spec", "serviceAccountName"],
            ["spec.hostNetwork"] = ["spec", "hostNetwork"],
            ["status.phase"] = ["status", "phase"],
            ["status.podIP"] = ["status", "podIP"],
            ["status.nominatedNodeName"] = ["status", "nominatedNodeName"],
        },
        [ResourceType.Jobs] = new() { ["status.successful"] = ["status", "succeeded"] },
        [ResourceType.Secrets] = new() { ["type"] = ["type"] },
        [ResourceType.Namespaces] = new() { ["status.phase"] = ["status", "phase"] },
        [ResourceType.EventsV1] = new()
        {
            ["regarding.kind"] = ["regarding", "kind"],
            ["regarding.namespace"] = ["regarding", "namespace"],
            ["regarding.name"] = ["regarding", "name"],
            ["regarding.uid"] = ["regarding", "uid"],
            ["regarding.apiVersion"] = ["regarding", "apiVersion"],
            ["regarding.resourceVersion"] = ["regarding", "resourceVersion"],
            ["regarding.fieldPath"] = ["regarding", "fieldPath"],
            ["reason"] = ["reason"],
            ["reportingController"] = ["reportingController"],
            ["type"] = ["type"],
        },
        [ResourceType.Events] = new()
        {
            ["involvedObject.kind"] = ["involvedObject", "kind"],
            ["involvedObject.namespace"] = ["involvedObject", "namespace"],
            ["involvedObject.name"] = ["involvedObject", "name"],
            ["involvedObject.uid"] = ["involvedObject", "uid"],
            ["involvedObject.apiVersion"] = ["involvedObject", "apiVersion"],
            ["involvedObject.resourceVersion"] = ["involvedObject", "resourceVersion"],
            ["involvedObject.fieldPath"] = ["involvedObject", "fieldPath"],
            ["reason"] = ["reason"],
            ["reportingComponent"] = ["reportingComponent"],
            ["source"] = ["source", "component"],
            ["type"] = ["type"],
        },
    };

    private readonly List<(string[] Path, bool Equal, string Value)> _terms;

    private FieldSelector(List<(string[] Path, bool Equal, string Value)> terms) => _terms = terms;

    /// <summary>Parses a selector for a type; unknown fields and bad syntax are 400 BadRequest.</summary>
    public static FieldSelector Parse(ResourceType type, string? text)
    {
        ArgumentNullException.ThrowIfNull(type);
        var terms = new List<(string[], bool, string)>();
        if (string.IsNullOrWhiteSpace(text))
        {
            return new FieldSelector(terms);
        }

        foreach (var raw in text.Split(','))
        {
            var part = raw.Trim();
            string field;
            string value;
            bool equal;
            var ne = part.IndexOf("!=", StringComparison.Ordinal);
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (ne > 0)
            {
                (field, value, equal) = (part[..ne], part[(ne + 2)..], false);
            }
            else if (eq > 0)
            {
                var skip = part.Length > eq + 1 && part[eq + 1] == '=' ? 2 : 1;
                (field, value, equal) = (part[..eq], part[(eq + skip)..], true);
            }
            else
            {
                throw StoreException.BadRequest($"invalid selector: '{text}'; can't understand '{part}'");
            }

            field = field.Trim();
            string[] path = field switch
            {
                "metadata.name" => ["metadata", "name"],
                "metadata.namespace" => ["metadata", "namespace"],
                _ when Supported.TryGetValue(type, out var map) && map.TryGetValue(field, out var p) => p,
                _ => throw StoreException.BadRequest($"field label not supported: {field}"),
            };
            terms.Add((path, equal, value.Trim()));
        }

        return new FieldSelector(terms);
    }

    /// <summary>Whether the object satisfies every term.</summary>
    public bool Matches(JsonObject obj)
    {
        foreach (var (path, equal, value) in _terms)
        {
            var node = Json.Walk(obj, path);
            var actual = node is null ? "" : node.GetValueKind() == System.Text.Json.JsonValueKind.String ? node.GetValue<string>() : node.ToJsonString();
            if (path is ["status", "succeeded"] && node is null)
            {
                actual = "0";
            }

            if ((actual == value) != equal)
            {
                return false;
            }
        }

        return true;
    }
}
