using System.Buffers;
using System.Security.Cryptography;

namespace VisionPlatform.Training.Storage;

/// <summary>Hashes of local content, computed in one pass.</summary>
internal static class ContentHashes
{
    private const int BufferSize = 1024 * 1024;

    /// <summary>Returns the SHA-256 (lowercase hex) and, when asked, the MD5 (raw bytes) of a file.</summary>
    public static async Task<(string Sha256, byte[]? Md5)> OfFileAsync(string path, bool withMd5, CancellationToken cancellationToken)
    {
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
#pragma warning disable CA5351 // MD5 is what S3's Content-MD5 and ETags use; it is an integrity check here, not security.
        using var md5 = withMd5 ? IncrementalHash.CreateHash(HashAlgorithmName.MD5) : null;
#pragma warning restore CA5351
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
            await using (stream.ConfigureAwait(false))
            {
                int read;
                while ((read = await stream.ReadAsync(buffer.AsMemory(0, BufferSize), cancellationToken).ConfigureAwait(false)) > 0)
                {
                    sha256.AppendData(buffer, 0, read);
                    md5?.AppendData(buffer, 0, read);
                }
            }

            return (Convert.ToHexStringLower(sha256.GetHashAndReset()), md5?.GetHashAndReset());
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The MD5 of a buffer (for Content-MD5 and part ETags).</summary>
#pragma warning disable CA5351 // See above: S3 integrity, not security.
    public static byte[] Md5(ReadOnlySpan<byte> data) => MD5.HashData(data);
#pragma warning restore CA5351

    /// <summary>
    /// Whether an ETag is the MD5 of the content: a 32-hex-digit tag on an object that is not encrypted with KMS or a
    /// customer key (those make the ETag opaque). Multipart ETags ("...-N") are not MD5s.
    /// </summary>
    public static bool IsMd5ETag(string? etag, bool encryptedWithKey) =>
        !encryptedWithKey && Unquote(etag) is { Length: 32 } tag && tag.All(char.IsAsciiHexDigit);

    public static string? Unquote(string? etag) => etag?.Trim().Trim('"');
}
