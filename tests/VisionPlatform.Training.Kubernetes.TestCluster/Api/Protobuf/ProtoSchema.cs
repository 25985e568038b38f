namespace VisionPlatform.Training.Kubernetes.TestCluster.Api.Protobuf;

/// <summary>How a field's value is written on the wire and read into JSON.</summary>
internal enum ProtoKind
{
    /// <summary>A string; an empty one is left out (the JSON fields are <c>omitempty</c>) unless the field is required.</summary>
    String,

    /// <summary>Bytes, written to JSON as base64 (as the JSON form of <c>[]byte</c>).</summary>
    Bytes,

    /// <summary>A bool (optional bools are pointers in Go, so one on the wire was set).</summary>
    Bool,

    /// <summary>A varint integer; zero is left out unless the field is required.</summary>
    Int,

    /// <summary>A nested message.</summary>
    Message,

    /// <summary><c>meta/v1.Time</c> (<c>seconds</c>, <c>nanos</c>) as RFC 3339; the zero time is JSON null.</summary>
    Time,

    /// <summary><c>resource.Quantity</c> (its one <c>string</c> field).</summary>
    Quantity,

    /// <summary><c>map&lt;string, string&gt;</c>.</summary>
    StringMap,

    /// <summary><c>map&lt;string, bytes&gt;</c> (a Secret's data), values as base64.</summary>
    BytesMap,

    /// <summary><c>map&lt;string, Quantity&gt;</c> (resource lists).</summary>
    QuantityMap,
}

/// <summary>One field of a message: its number, JSON name and kind.</summary>
internal sealed record ProtoField(int Number, string Name, ProtoKind Kind, bool Repeated = false, ProtoMessage? Message = null, bool Required = false);

/// <summary>A message's fields by number, from the Kubernetes API's <c>generated.proto</c> files.</summary>
internal sealed class ProtoMessage
{
    private readonly Dictionary<int, ProtoField> _fields;

    public ProtoMessage(string name, params ProtoField[] fields)
    {
        Name = name;
        _fields = fields.ToDictionary(f => f.Number);
    }

    public string Name { get; }

    public ProtoField? Field(int number) => _fields.GetValueOrDefault(number);
}
