using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Api;

/// <summary>
/// List continuation tokens in the apiserver's format: base64 of <c>{"v":"meta.k8s.io/v1","rv":N,"start":"key\u0000"}</c>.
/// The next page lists objects after the key as they are now (the real server reads a snapshot at rv); a token
/// older than the watch history is 410 Expired, as after an etcd compaction.
/// </summary>
internal static class ContinueToken
{
    public static string Create(long resourceVersion, string lastKey)
    {
        var json = new JsonObject
        {
            ["v"] = "meta.k8s.io/v1",
            ["rv"] = resourceVersion,
            ["start"] = lastKey + "\u0000",
        };
        return Convert.ToBase64String(Encoding.UTF8.GetBytes(json.ToJsonString()));
    }

    public static (long ResourceVersion, string Key)? Parse(string? token, ClusterStore store, ResourceType type)
    {
        if (string.IsNullOrEmpty(token))
        {
            return null;
        }

        try
        {
            var json = JsonNode.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(token)));
            var rv = Json.GetLong(json, "rv") ?? throw new FormatException("no rv");
            var start = Json.GetString(json, "start") ?? throw new FormatException("no start");
            if (Json.GetString(json, "v") != "meta.k8s.io/v1")
            {
                throw new FormatException("unknown version");
            }

            if (rv < store.OldestWatchableResourceVersion(type))
            {
                throw StoreException.Expired(
                    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.");
            }

            return (rv, start.TrimEnd('\0'));
        }
        catch (FormatException ex)
        {
            throw StoreException.BadRequest($"continue key is not valid: {ex.Message}");
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw StoreException.BadRequest($"continue key is not valid: {ex.Message}");
        }
    }

    public static string KeyOf(ResourceType type, JsonObject obj)
    {
        var name = Json.GetString(obj, "metadata", "name") ?? "";
        return type.Namespaced
            ? string.Create(CultureInfo.InvariantCulture, $"{Json.GetString(obj, "metadata", "namespace")}/{name}")
            : name;
    }
}
