using System.Globalization;
using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Api;

/// <summary>
/// PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902), and strategic merge patch handled as a
/// merge patch (lists are replaced, not merged by key). Server-side apply is not supported (415).
/// </summary>
internal static class JsonPatch
{
    public static JsonObject Apply(string contentType, JsonObject target, JsonNode? patch)
    {
        var mediaType = contentType.Split(';')[0].Trim();
        switch (mediaType)
        {
            case "application/merge-patch+json":
            case "application/strategic-merge-patch+json":
                if (patch is not JsonObject merge)
                {
                    throw StoreException.BadRequest("error decoding patch: the patch is not a JSON object");
                }

                return (JsonObject)MergePatch(target.DeepClone(), merge)!;
            case "application/json-patch+json":
                if (patch is not JsonArray operations)
                {
                    throw StoreException.BadRequest("json patch is not an array of operations");
                }

                JsonNode result = target.DeepClone();
                foreach (var op in operations)
                {
                    result = ApplyOperation(result, op as JsonObject ?? throw StoreException.BadRequest("json patch operation is not an object"));
                }

                return result as JsonObject ?? throw StoreException.BadRequest("json patch replaced the whole object with a non-object");
            default:
                throw new StoreException(415, "UnsupportedMediaType",
                    $"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json");
        }
    }

    private static JsonNode? MergePatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }

        var result = target as JsonObject ?? [];
        foreach (var (key, value) in patchObject)
        {
            if (value is null)
            {
                result.Remove(key);
            }
            else
            {
                var merged = MergePatch(result[key]?.DeepClone(), value);
                result[key] = merged;
            }
        }

        return result;
    }

    private static JsonNode ApplyOperation(JsonNode document, JsonObject operation)
    {
        var op = Json.GetString(operation, "op");
        var path = Json.GetString(operation, "path") ?? throw StoreException.BadRequest("json patch operation has no path");
        switch (op)
        {
            case "add":
            case "replace":
                return Set(document, path, operation["value"]?.DeepClone(), op == "add");
            case "remove":
                return Remove(document, path);
            case "test":
                if (!JsonNode.DeepEquals(Resolve(document, path), operation["value"]))
                {
                    throw new StoreException(422, "Invalid", $"the server rejected our request due to an error in our request: testing value {path} failed");
                }

                return document;
            case "copy":
            case "move":
                var from = Json.GetString(operation, "from") ?? throw StoreException.BadRequest($"json patch {op} operation has no from");
                var value = Resolve(document, from)?.DeepClone();
                if (op == "move")
                {
                    document = Remove(document, from);
                }

                return Set(document, path, value, true);
            default:
                throw StoreException.BadRequest($"Unexpected kind: {op}");
        }
    }

    private static string[] Tokens(string path) =>
        path.Length == 0 ? [] : path[1..].Split('/').Select(t => t.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToArray();

    private static JsonNode? Resolve(JsonNode document, string path)
    {
        JsonNode? node = document;
        foreach (var token in Tokens(path))
        {
            node = node switch
            {
                JsonObject o => o[token],
                JsonArray a when int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < a.Count => a[i],
                _ => throw new StoreException(422, "Invalid", $"the server rejected our request due to an error in our request: doc is missing path: \"{path}\""),
            };
        }

        return node;
    }

    private static JsonNode Set(JsonNode document, string path, JsonNode? value, bool add)
    {
        var tokens = Tokens(path);
        if (tokens.Length == 0)
        {
            return value ?? throw StoreException.BadRequest("cannot replace the document with null");
        }

        var parent = Resolve(document, "/" + string.Join('/', tokens[..^1].Select(t => t.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal))));
        var last = tokens[^1];
        switch (parent)
        {
            case JsonObject o:
                if (!add && !o.ContainsKey(last))
                {
                    throw new StoreException(422, "Invalid", $"the server rejected our request due to an error in our request: replace operation does not apply: doc is missing key: {path}: missing value");
                }

                o[last] = value;
                break;
            case JsonArray a:
                if (last == "-")
                {
                    a.Add(value);
                }
                else if (int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i <= a.Count)
                {
                    if (add)
                    {
                        a.Insert(i, value);
                    }
                    else if (i < a.Count)
                    {
                        a[i] = value;
                    }
                }
                else
                {
                    throw new StoreException(422, "Invalid", $"the server rejected our request due to an error in our request: invalid index {last} in {path}");
                }

                break;
            default:
                throw new StoreException(422, "Invalid", $"the server rejected our request due to an error in our request: doc is missing path: \"{path}\"");
        }

        return document;
    }

    private static JsonNode Remove(JsonNode document, string path)
    {
        var tokens = Tokens(path);
        var parent = Resolve(document, "/" + string.Join('/', tokens[..^1].Select(t => t.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal))));
        var last = tokens[^1];
        var removed = parent switch
        {
            JsonObject o => o.Remove(last),
            JsonArray a when int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < a.Count => RemoveAt(a, i),
            _ => false,
        };
        return removed
            ? document
            : throw new StoreException(422, "Invalid", $"the server rejected our request due to an error in our request: remove operation does not apply: doc is missing path: \"{path}\"");
    }

    private static bool RemoveAt(JsonArray array, int index)
    {
        array.RemoveAt(index);
        return true;
    }
}
