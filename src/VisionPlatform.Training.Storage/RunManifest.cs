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
}
