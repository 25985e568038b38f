using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Api;

/// <summary>Reading request bodies and writing JSON responses the way the apiserver does.</summary>
internal static class HttpIO
{
    public const string JsonContentType = "application/json";

    public static async Task WriteJsonAsync(HttpContext context, int statusCode, JsonNode body)
    {
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = JsonContentType;
        var bytes = Json.CompactLine(body);
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
    }

    public static Task WriteStatusAsync(HttpContext context, StoreException error) =>
        WriteJsonAsync(context, error.Code, error.ToStatus());

    /// <summary>The 404 the apiserver's mux answers for paths it does not serve (plain text).</summary>
    public static async Task WritePageNotFoundAsync(HttpContext context)
    {
        context.Response.StatusCode = 404;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync("404 page not found\n", context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads an object body, JSON or (for the kinds in <see cref="Protobuf.KubernetesMessages"/>) Kubernetes protobuf;
    /// a body that does not decode is a 400, as in the apiserver.
    /// </summary>
    public static async Task<JsonObject?> ReadObjectAsync(HttpContext context, string kindForErrors, string version)
    {
        if (Protobuf.ProtobufBody.IsProtobuf(context.Request.ContentType))
        {
            // kubectl's typed commands (create namespace, configmap, secret, rolebinding, ...) send protobuf.
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
            if (buffer.Length == 0)
            {
                return null;
            }

            try
            {
                return Protobuf.ProtobufBody.Decode(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), kindForErrors);
            }
            catch (FormatException ex)
            {
                throw StoreException.BadRequest($"{kindForErrors} in version \"{version}\" cannot be handled as a {kindForErrors}: {ex.Message}");
            }
        }

        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(context.RequestAborted).ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(text) as JsonObject
                ?? throw StoreException.BadRequest($"{kindForErrors} in version \"{version}\" cannot be handled as a {kindForErrors}: the body is not a JSON object");
        }
        catch (JsonException ex)
        {
            throw StoreException.BadRequest($"{kindForErrors} in version \"{version}\" cannot be handled as a {kindForErrors}: {ex.Message}");
        }
    }

    public static string? Query(HttpContext context, string name) =>
        context.Request.Query.TryGetValue(name, out var value) && value.Count > 0 ? value[0] : null;

    public static bool QueryBool(HttpContext context, string name) =>
        Query(context, name) is { } v && (v == "1" || v.Equals("true", StringComparison.OrdinalIgnoreCase));

    public static long? QueryLong(HttpContext context, string name)
    {
        var value = Query(context, name);
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        return long.TryParse(value, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var n)
            ? n
            : throw StoreException.BadRequest($"invalid value for {name}: {value}: strconv.ParseInt: parsing \"{value}\": invalid syntax");
    }
}
