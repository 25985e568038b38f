using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Api.Protobuf;

/// <summary>
/// Decodes a request body sent as <c>application/vnd.kubernetes.protobuf</c> into the same JSON object its JSON form
/// would be: the 4-byte magic <c>k8s\0</c>, then a <c>runtime.Unknown</c> envelope (typeMeta, raw object bytes,
/// contentEncoding, contentType) whose raw bytes are the object's message (see <see cref="KubernetesMessages"/>).
/// </summary>
internal static class ProtobufBody
{
    /// <summary>The media type of Kubernetes protobuf bodies.</summary>
    public const string MediaType = "application/vnd.kubernetes.protobuf";

    private static ReadOnlySpan<byte> Magic => "k8s\0"u8;

    /// <summary>Whether a request's Content-Type is the Kubernetes protobuf media type.</summary>
    public static bool IsProtobuf(string? contentType) =>
        contentType is not null && contentType.Split(';', 2)[0].Trim().Equals(MediaType, StringComparison.OrdinalIgnoreCase);

    /// <summary>Decodes the body; throws <see cref="FormatException"/> with the reason when it cannot.</summary>
    /// <param name="body">The request body.</param>
    /// <param name="expectedKind">The kind the endpoint takes (the envelope's kind must match when it names one).</param>
    public static JsonObject Decode(ReadOnlySpan<byte> body, string expectedKind)
    {
        if (!body.StartsWith(Magic))
        {
            throw new FormatException("provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]");
        }

        string? apiVersion = null, kind = null, contentEncoding = null;
        ReadOnlySpan<byte> raw = default;
        var envelope = new ProtoReader(body[Magic.Length..]);
        while (!envelope.AtEnd)
        {
            var (field, wire) = envelope.ReadTag();
            switch (field)
            {
                case 1 when wire == 2:
                    var typeMeta = new ProtoReader(envelope.ReadLengthDelimited());
                    while (!typeMeta.AtEnd)
                    {
                        var (f, w) = typeMeta.ReadTag();
                        if (f is 1 or 2 && w == 2)
                        {
                            var text = Encoding.UTF8.GetString(typeMeta.ReadLengthDelimited());
                            (apiVersion, kind) = f == 1 ? (text, kind) : (apiVersion, text);
                        }
                        else
                        {
                            typeMeta.Skip(w);
                        }
                    }

                    break;
                case 2 when wire == 2:
                    raw = envelope.ReadLengthDelimited();
                    break;
                case 3 when wire == 2:
                    contentEncoding = Encoding.UTF8.GetString(envelope.ReadLengthDelimited());
                    break;
                default:
                    envelope.Skip(wire);
                    break;
            }
        }

        if (!string.IsNullOrEmpty(contentEncoding))
        {
            throw new FormatException($"content encoding {contentEncoding} is not supported");
        }

        var effectiveKind = string.IsNullOrEmpty(kind) ? expectedKind : kind;
        if (!KubernetesMessages.ByKind.TryGetValue(effectiveKind, out var schema))
        {
            throw new FormatException($"the test cluster does not decode protobuf bodies of kind {effectiveKind}; send it as application/json");
        }

        var result = new JsonObject();
        if (!string.IsNullOrEmpty(kind))
        {
            result["kind"] = kind;
        }

        if (!string.IsNullOrEmpty(apiVersion))
        {
            result["apiVersion"] = apiVersion;
        }

        return DecodeInto(result, raw, schema);
    }

    private static JsonObject DecodeInto(JsonObject result, ReadOnlySpan<byte> bytes, ProtoMessage schema)
    {
        var reader = new ProtoReader(bytes);
        while (!reader.AtEnd)
        {
            var (number, wire) = reader.ReadTag();
            if (schema.Field(number) is not { } field)
            {
                reader.Skip(wire);
                continue;
            }

            if (field.Kind is ProtoKind.StringMap or ProtoKind.BytesMap or ProtoKind.QuantityMap)
            {
                Expect(wire, 2, field);
                if (result[field.Name] is not JsonObject map)
                {
                    result[field.Name] = map = [];
                }

                var (key, entry) = DecodeMapEntry(reader.ReadLengthDelimited(), field.Kind);
                map[key] = entry;
                continue;
            }

            var value = ReadValue(ref reader, wire, field);
            if (field.Repeated)
            {
                if (result[field.Name] is not JsonArray array)
                {
                    result[field.Name] = array = [];
                }

                array.Add(value);
            }
            else if (value is not null || field.Kind is ProtoKind.Time)
            {
                result[field.Name] = value;
            }
        }

        return result;
    }

    private static JsonNode? ReadValue(ref ProtoReader reader, int wire, ProtoField field)
    {
        switch (field.Kind)
        {
            case ProtoKind.Bool:
                Expect(wire, 0, field);
                return JsonValue.Create(reader.ReadVarint() != 0);
            case ProtoKind.Int:
                Expect(wire, 0, field);
                var number = unchecked((long)reader.ReadVarint());
                return number == 0 && !field.Required && !field.Repeated ? null : JsonValue.Create(number);
        }

        Expect(wire, 2, field);
        var bytes = reader.ReadLengthDelimited();
        switch (field.Kind)
        {
            case ProtoKind.String:
                var text = Encoding.UTF8.GetString(bytes);
                return text.Length == 0 && !field.Required && !field.Repeated ? null : JsonValue.Create(text);
            case ProtoKind.Bytes:
                return JsonValue.Create(Convert.ToBase64String(bytes));
            case ProtoKind.Message:
                return DecodeInto([], bytes, field.Message!);
            case ProtoKind.Time:
                return DecodeTime(bytes);
            default:
                return JsonValue.Create(DecodeQuantity(bytes));
        }
    }

    /// <summary>A map entry: a message with the key as field 1 and the value as field 2.</summary>
    private static (string Key, JsonNode Value) DecodeMapEntry(ReadOnlySpan<byte> bytes, ProtoKind kind)
    {
        var key = string.Empty;
        JsonNode value = JsonValue.Create(string.Empty);
        var reader = new ProtoReader(bytes);
        while (!reader.AtEnd)
        {
            var (number, wire) = reader.ReadTag();
            if (number is 1 or 2 && wire == 2)
            {
                var part = reader.ReadLengthDelimited();
                if (number == 1)
                {
                    key = Encoding.UTF8.GetString(part);
                }
                else
                {
                    value = kind switch
                    {
                        ProtoKind.BytesMap => JsonValue.Create(Convert.ToBase64String(part)),
                        ProtoKind.QuantityMap => JsonValue.Create(DecodeQuantity(part)),
                        _ => JsonValue.Create(Encoding.UTF8.GetString(part)),
                    };
                }
            }
            else
            {
                reader.Skip(wire);
            }
        }

        return (key, value);
    }

    private static JsonNode? DecodeTime(ReadOnlySpan<byte> bytes)
    {
        long seconds = 0;
        var reader = new ProtoReader(bytes);
        while (!reader.AtEnd)
        {
            var (number, wire) = reader.ReadTag();
            if (number == 1 && wire == 0)
            {
                seconds = unchecked((long)reader.ReadVarint());
            }
            else
            {
                reader.Skip(wire);
            }
        }

        // Go's zero time marshals as an empty message and as JSON null; RFC 3339 at second precision otherwise.
        return seconds == 0
            ? null
            : JsonValue.Create(DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
    }

    private static string DecodeQuantity(ReadOnlySpan<byte> bytes)
    {
        var reader = new ProtoReader(bytes);
        while (!reader.AtEnd)
        {
            var (number, wire) = reader.ReadTag();
            if (number == 1 && wire == 2)
            {
                return Encoding.UTF8.GetString(reader.ReadLengthDelimited());
            }

            reader.Skip(wire);
        }

        return "0";
    }

    private static void Expect(int wire, int expected, ProtoField field)
    {
        if (wire != expected)
        {
            throw new FormatException($"proto: wrong wire type {wire} for field {field.Name}");
        }
    }
}
