namespace VisionPlatform.Training.Kubernetes.TestCluster.Api.Protobuf;

/// <summary>
/// Reads the protocol buffers wire format (varints, fixed widths and length-delimited fields) from a byte span.
/// Malformed input throws <see cref="FormatException"/>; the caller turns that into the apiserver's 400.
/// </summary>
internal ref struct ProtoReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _position;

    public readonly bool AtEnd => _position >= _data.Length;

    /// <summary>Reads a field's tag: its number and wire type (0 varint, 1 fixed64, 2 length-delimited, 5 fixed32).</summary>
    public (int Field, int WireType) ReadTag()
    {
        var tag = ReadVarint();
        var field = (int)(tag >> 3);
        if (field <= 0)
        {
            throw new FormatException($"proto: illegal tag {tag} (field number 0)");
        }

        return (field, (int)(tag & 7));
    }

    public ulong ReadVarint()
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (_position >= _data.Length)
            {
                throw new FormatException("proto: unexpected end of data in a varint");
            }

            var b = _data[_position++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw new FormatException("proto: integer overflow in a varint");
    }

    public ReadOnlySpan<byte> ReadLengthDelimited()
    {
        var length = ReadVarint();
        if (length > (ulong)(_data.Length - _position))
        {
            throw new FormatException("proto: a length-delimited field runs past the end of the data");
        }

        var span = _data.Slice(_position, (int)length);
        _position += (int)length;
        return span;
    }

    /// <summary>Skips a field this reader has no schema for, as protobuf decoders do with unknown fields.</summary>
    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case 0:
                ReadVarint();
                break;
            case 1:
                Advance(8);
                break;
            case 2:
                ReadLengthDelimited();
                break;
            case 5:
                Advance(4);
                break;
            default:
                throw new FormatException($"proto: unsupported wire type {wireType}");
        }
    }

    private void Advance(int count)
    {
        if (_position + count > _data.Length)
        {
            throw new FormatException("proto: unexpected end of data in a fixed-width field");
        }

        _position += count;
    }
}
