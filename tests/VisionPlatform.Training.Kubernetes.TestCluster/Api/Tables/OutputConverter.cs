using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Api.Tables;

/// <summary>
/// Applies the conversion a request negotiated (<see cref="OutputNegotiation"/>) to a GET, list or watch answer: a
/// Table (<see cref="TableConverter"/>), or the objects' metadata alone as <c>PartialObjectMetadata</c> /
/// <c>PartialObjectMetadataList</c>, what client-go's metadata client and informers ask for.
/// </summary>
internal sealed class OutputConverter
{
    private readonly OutputConversion _conversion;
    private readonly TableConverter? _table;

    private OutputConverter(OutputConversion conversion, TableConverter? table)
    {
        _conversion = conversion;
        _table = table;
    }

    /// <summary>The converter a request asks for, or null when it wants the plain object.</summary>
    public static OutputConverter? For(HttpContext http, TimeProvider time)
    {
        if (OutputNegotiation.Negotiate(http.Request.Headers.Accept.ToString()) is not { } conversion)
        {
            return null;
        }

        var table = conversion.Kind == "Table" ? TableConverter.For(http, conversion.ApiVersion, time.GetUtcNow()) : null;
        return new OutputConverter(conversion, table);
    }

    /// <summary>A list answer converted; PartialObjectMetadata (not a list) is the apiserver's 406.</summary>
    public JsonObject FromList(ResourceType type, JsonObject list)
    {
        if (_table is not null)
        {
            return _table.FromList(type, list);
        }

        if (_conversion.Kind != "PartialObjectMetadataList")
        {
            throw NotAcceptable($"you requested PartialObjectMetadata, but the requested object is a list ({GoType(type)}List)");
        }

        var metadata = new JsonObject();
        foreach (var field in new[] { "resourceVersion", "continue", "remainingItemCount" })
        {
            if (list["metadata"]?[field] is { } value)
            {
                metadata[field] = value.DeepClone();
            }
        }

        var items = list["items"] is JsonArray array ? array.OfType<JsonObject>() : [];
        return new JsonObject
        {
            ["kind"] = "PartialObjectMetadataList",
            ["apiVersion"] = _conversion.ApiVersion,
            ["metadata"] = metadata,
            ["items"] = new JsonArray(items.Select(i => (JsonNode)Partial(i)).ToArray()),
        };
    }

    /// <summary>One object converted; PartialObjectMetadataList (a list) is the apiserver's 406.</summary>
    public JsonObject FromObject(ResourceType type, JsonObject obj)
    {
        if (_table is not null)
        {
            return _table.FromObject(type, obj);
        }

        return _conversion.Kind == "PartialObjectMetadata"
            ? Partial(obj)
            : throw NotAcceptable($"you requested PartialObjectMetadataList, but the requested object is not a list ({GoType(type)})");
    }

    /// <summary>
    /// A watch event's object: a one-row Table (column definitions only when <paramref name="headers"/>) or the
    /// object's metadata. A list conversion cannot apply to one object, so the apiserver sends those events unchanged.
    /// </summary>
    public JsonObject FromWatchObject(ResourceType type, JsonObject obj, bool headers) =>
        _table?.FromObject(type, obj, headers)
        ?? (_conversion.Kind == "PartialObjectMetadata" ? Partial(obj) : obj);

    private JsonObject Partial(JsonObject obj) => new()
    {
        ["kind"] = "PartialObjectMetadata",
        ["apiVersion"] = _conversion.ApiVersion,
        ["metadata"] = obj["metadata"]?.DeepClone() ?? new JsonObject(),
    };

    /// <summary>The Go type the apiserver's message names (%T of the internal object), e.g. <c>*batch.Job</c>.</summary>
    private static string GoType(ResourceType type) =>
        $"*{(type.Group.Length == 0 ? "core" : type.Group.Split('.')[0])}.{type.Kind}";

    private static StoreException NotAcceptable(string message) => new(406, "NotAcceptable", message);
}
