using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Api.Tables;

/// <summary>
/// Turns objects into the <c>meta.k8s.io</c> Table kubectl asks for with
/// <c>Accept: application/json;as=Table;g=meta.k8s.io;v=v1</c>: the kind's column definitions (all of them, wide
/// ones at priority 1, as the apiserver's printers run wide), one row of cells per object and, per
/// <c>?includeObject=</c>, the object's metadata as a PartialObjectMetadata (the default, <c>Metadata</c>), the whole
/// object (<c>Object</c>) or nothing (<c>None</c>).
/// </summary>
internal sealed class TableConverter
{
    private readonly string _apiVersion;
    private readonly string _includeObject;
    private readonly DateTimeOffset _now;

    private TableConverter(string apiVersion, string includeObject, DateTimeOffset now)
    {
        _apiVersion = apiVersion;
        _includeObject = includeObject;
        _now = now;
    }

    /// <summary>The converter a request asks for, or null when it wants the plain object.</summary>
    public static TableConverter? For(HttpContext http, TimeProvider time)
    {
        if (TableNegotiation.TableVersion(http.Request.Headers.Accept.ToString()) is not { } version)
        {
            return null;
        }

        var include = HttpIO.Query(http, "includeObject") ?? "";
        if (include is not ("" or "None" or "Metadata" or "Object"))
        {
            throw StoreException.BadRequest($"unrecognized includeObject value: \"{include}\"");
        }

        return new TableConverter(version, include.Length == 0 ? "Metadata" : include, time.GetUtcNow());
    }

    /// <summary>A Table of a list answer: its rows, resourceVersion, continue and remainingItemCount.</summary>
    public JsonObject FromList(ResourceType type, JsonObject list)
    {
        var metadata = (JsonObject)(list["metadata"]?.DeepClone() ?? new JsonObject());
        var items = list["items"] is JsonArray array ? array.OfType<JsonObject>() : [];
        return Table(type, items, metadata, headers: true);
    }

    /// <summary>A Table of one object (a GET by name, or a watch event's object).</summary>
    public JsonObject FromObject(ResourceType type, JsonObject obj, bool headers = true)
    {
        var metadata = new JsonObject();
        if (Json.GetString(obj, "metadata", "resourceVersion") is { } rv)
        {
            metadata["resourceVersion"] = rv;
        }

        return Table(type, [obj], metadata, headers);
    }

    private JsonObject Table(ResourceType type, IEnumerable<JsonObject> objects, JsonObject metadata, bool headers)
    {
        var printer = Printers.For(type);
        var rows = new JsonArray();
        foreach (var obj in objects)
        {
            var printed = printer.Print(obj, _now);
            var row = new JsonObject { ["cells"] = new JsonArray(printed.Cells.Select(c => c?.DeepClone()).ToArray()) };
            if (printed.Conditions is { } conditions)
            {
                row["conditions"] = conditions;
            }

            if (RowObject(type, obj) is { } included)
            {
                row["object"] = included;
            }

            rows.Add(row);
        }

        var table = new JsonObject
        {
            ["kind"] = "Table",
            ["apiVersion"] = _apiVersion,
            ["metadata"] = metadata,
        };
        if (headers)
        {
            // on a watch only the first event carries the column definitions, as the apiserver sends them
            table["columnDefinitions"] = new JsonArray(printer.Columns.Select(c => (JsonNode)c.ToJson()).ToArray());
        }

        table["rows"] = rows;
        return table;
    }

    private JsonObject? RowObject(ResourceType type, JsonObject obj)
    {
        switch (_includeObject)
        {
            case "None":
                return null;
            case "Object":
                var whole = obj.DeepClone().AsObject();
                whole["kind"] = type.Kind;
                whole["apiVersion"] = type.ApiVersion;
                return whole;
            default:
                return new JsonObject
                {
                    ["kind"] = "PartialObjectMetadata",
                    ["apiVersion"] = _apiVersion,
                    ["metadata"] = obj["metadata"]?.DeepClone() ?? new JsonObject(),
                };
        }
    }
}
