using System.Text.Json;

namespace VisionPlatform.Training.Storage;

/// <summary>Writes <c>upload-manifest.json</c>: what an upload put under the run's prefix, with sizes and SHA-256s.</summary>
internal static class RunManifest
{
    public const int SchemaVersion = 1;

    public static byte[] Create(string jobId, string runPrefix, DateTimeOffset uploadedAt, IReadOnlyList<UploadedArtifact> artifacts)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteNumber("schemaVersion", SchemaVersion);
            json.WriteString("jobId", jobId);
            json.WriteString("runPrefix", runPrefix);
            json.WriteString("uploadedAt", uploadedAt.ToUniversalTime());
            json.WriteNumber("totalBytes", artifacts.Sum(a => a.Size));
            json.WriteStartArray("files");
            foreach (var a in artifacts)
            {
                json.WriteStartObject();
                json.WriteString("path", a.RelativePath);
                json.WriteNumber("size", a.Size);
                json.WriteString("sha256", a.Sha256);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// The files an earlier upload recorded (relative path and size), or <see langword="null"/> when the manifest is not
    /// one of ours for this run prefix (another schema or prefix, malformed JSON, an invalid or reserved path).
    /// </summary>
    public static Dictionary<string, long>? TryReadFiles(ReadOnlySpan<byte> json, string runPrefix)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object ||
                !root.TryGetProperty("schemaVersion", out var version) || version.ValueKind != JsonValueKind.Number || version.GetInt32() != SchemaVersion ||
                !root.TryGetProperty("runPrefix", out var prefix) || prefix.ValueKind != JsonValueKind.String || prefix.GetString() != runPrefix ||
                !root.TryGetProperty("files", out var files) || files.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            var result = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var file in files.EnumerateArray())
            {
                if (file.ValueKind != JsonValueKind.Object ||
                    !file.TryGetProperty("path", out var path) || path.GetString() is not { } relative ||
                    !ArtifactLayout.IsValidRelativePath(relative, out _) || relative == ArtifactLayout.RunManifestFile ||
                    !file.TryGetProperty("size", out var size) || !size.TryGetInt64(out var length))
                {
                    return null;
                }

                result[relative] = length;
            }

            return result;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }
}
