using System.Buffers;
using System.Globalization;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace VisionPlatform.Training.Storage;

/// <summary>
/// Writes one object and proves the server stored exactly those bytes:
/// <list type="number">
/// <item>SHA-256 of the content is computed locally and sent as <c>x-amz-meta-sha256</c>.</item>
/// <item>Every PUT and part carries Content-MD5 (servers that check it reject altered bytes), and the ETag returned for a
/// PUT or part is compared with the MD5 of the bytes sent when it is an MD5 (<see cref="ArtifactStorageOptions.VerifyETags"/>).</item>
/// <item>After the upload the object is read back with HEAD: its size and stored <c>sha256</c> must match.</item>
/// </list>
/// A mismatch in step 2 is retried like a transient failure; a mismatch in step 3 fails the upload.
/// </summary>
internal sealed class S3ObjectWriter(S3Calls calls, ArtifactStorageOptions options, ILogger logger, TimeProvider time)
{
    public const string Sha256MetadataKey = "x-amz-meta-sha256";

    private const int MaxParts = 10_000;

    private static readonly string ChunkEncodingHint =
        $"(if the server does not decode aws-chunked bodies, set {ArtifactStorageOptions.SectionName}:UseChunkEncoding to false)";

    public async Task<UploadedArtifact> UploadFileAsync(string filePath, string key, string relativePath, CancellationToken cancellationToken)
    {
        var length = new FileInfo(filePath).Length;
        var multipart = length >= options.MultipartThresholdBytes;
        var (sha256, md5) = await ContentHashes.OfFileAsync(filePath, withMd5: !multipart, cancellationToken).ConfigureAwait(false);

        var parts = 1;
        if (multipart)
        {
            parts = await PutMultipartAsync(filePath, key, length, sha256, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await PutAsync(() => OpenRead(filePath), key, sha256, md5!, cancellationToken).ConfigureAwait(false);
        }

        await VerifyStoredAsync(key, length, sha256, cancellationToken).ConfigureAwait(false);
        StorageLog.UploadedFile(logger, key, length, parts, sha256);
        return new UploadedArtifact(key, relativePath, length, sha256);
    }

    public async Task<UploadedArtifact> UploadBytesAsync(byte[] content, string key, string relativePath, CancellationToken cancellationToken)
    {
        var sha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(content));
        await PutAsync(() => new MemoryStream(content, writable: false), key, sha256, ContentHashes.Md5(content), cancellationToken).ConfigureAwait(false);
        await VerifyStoredAsync(key, content.Length, sha256, cancellationToken).ConfigureAwait(false);
        StorageLog.UploadedFile(logger, key, content.Length, 1, sha256);
        return new UploadedArtifact(key, relativePath, content.Length, sha256);
    }

    private Task<bool> PutAsync(Func<Stream> openContent, string key, string sha256, byte[] md5, CancellationToken cancellationToken) =>
        calls.RunAsync("Upload", key, async (client, token) =>
        {
            // A fresh stream per attempt: a retried request must resend the body from the start.
            var content = openContent();
            await using (content.ConfigureAwait(false))
            {
                var request = new PutObjectRequest
                {
                    BucketName = calls.Bucket,
                    Key = key,
                    InputStream = content,
                    AutoCloseStream = false,
                    MD5Digest = Convert.ToBase64String(md5),
                    ContentType = ContentTypes.For(key),

                    // Also per request: a host-supplied client has no pipeline handler that switches aws-chunked off.
                    UseChunkEncoding = options.EffectiveUseChunkEncoding,
                };
                request.Metadata.Add(Sha256MetadataKey, sha256);
                var response = await client.PutObjectAsync(request, token).ConfigureAwait(false);
                CheckETag(response.ETag, md5, IsKeyEncrypted(response.ServerSideEncryptionMethod, response.ServerSideEncryptionCustomerMethod?.Value), "object");
                return true;
            }
        }, cancellationToken);

    private async Task<int> PutMultipartAsync(string filePath, string key, long length, string sha256, CancellationToken cancellationToken)
    {
        // S3 allows at most 10,000 parts: grow the part size for very large files.
        var partSize = Math.Max(options.MultipartPartSizeBytes, (length + MaxParts - 1) / MaxParts);
        var partCount = (int)((length + partSize - 1) / partSize);

        var initiate = new InitiateMultipartUploadRequest { BucketName = calls.Bucket, Key = key, ContentType = ContentTypes.For(key) };
        initiate.Metadata.Add(Sha256MetadataKey, sha256);
        var uploadId = (await calls.RunAsync("Start multipart upload", key, (c, t) => c.InitiateMultipartUploadAsync(initiate, t), cancellationToken)
            .ConfigureAwait(false)).UploadId;

        try
        {
            var etags = new PartETag[partCount];
            using (var handle = File.OpenHandle(filePath, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous))
            {
                var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.MaxConcurrentUploads, CancellationToken = cancellationToken };
                await Parallel.ForEachAsync(Enumerable.Range(1, partCount), parallel, async (partNumber, token) =>
                {
                    var offset = (partNumber - 1) * partSize;
                    var size = (int)Math.Min(partSize, length - offset);
                    etags[partNumber - 1] = await PutPartAsync(handle, key, uploadId, partNumber, partCount, offset, size, token).ConfigureAwait(false);
                }).ConfigureAwait(false);
            }

            var complete = new CompleteMultipartUploadRequest { BucketName = calls.Bucket, Key = key, UploadId = uploadId, PartETags = [.. etags] };
            await calls.RunAsync("Complete multipart upload", key, (c, t) => c.CompleteMultipartUploadAsync(complete, t), cancellationToken).ConfigureAwait(false);
            return partCount;
        }
        catch
        {
            await AbortAsync(key, uploadId).ConfigureAwait(false);
            throw;
        }
    }

    private async Task<PartETag> PutPartAsync(
        SafeFileHandle handle, string key, string uploadId, int partNumber, int partCount, long offset, int size, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            var filled = 0;
            while (filled < size)
            {
                var read = await RandomAccess.ReadAsync(handle, buffer.AsMemory(filled, size - filled), offset + filled, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new IOException($"The file ended early while reading part {partNumber}: it changed during the upload.");
                }

                filled += read;
            }

            var md5 = ContentHashes.Md5(buffer.AsSpan(0, size));
            var operation = string.Create(CultureInfo.InvariantCulture, $"Upload part {partNumber}/{partCount}");
            var response = await calls.RunAsync(operation, key, async (client, token) =>
            {
                var request = new UploadPartRequest
                {
                    BucketName = calls.Bucket,
                    Key = key,
                    UploadId = uploadId,
                    PartNumber = partNumber,
                    PartSize = size,
                    IsLastPart = partNumber == partCount,
                    InputStream = new MemoryStream(buffer, 0, size, writable: false),
                    MD5Digest = Convert.ToBase64String(md5),
                    UseChunkEncoding = options.EffectiveUseChunkEncoding,
                };
                var r = await client.UploadPartAsync(request, token).ConfigureAwait(false);
                CheckETag(r.ETag, md5, IsKeyEncrypted(r.ServerSideEncryptionMethod, r.SSECustomerAlgorithm), $"part {partNumber}");
                return r;
            }, cancellationToken).ConfigureAwait(false);

            return new PartETag(partNumber, response.ETag);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task AbortAsync(string key, string uploadId)
    {
        StorageLog.AbortingMultipart(logger, calls.Bucket, key);
        try
        {
            // Not the caller's token: a cancelled upload must still release the parts it left on the server.
            using var timeout = new CancellationTokenSource(options.RequestTimeout, time);
            await calls.Client.AbortMultipartUploadAsync(
                new AbortMultipartUploadRequest { BucketName = calls.Bucket, Key = key, UploadId = uploadId }, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AmazonS3Exception or HttpRequestException or IOException or OperationCanceledException)
        {
            StorageLog.AbortFailed(logger, calls.Bucket, key, e.GetType().Name);
        }
    }

    private async Task VerifyStoredAsync(string key, long length, string sha256, CancellationToken cancellationToken)
    {
        var head = await calls.RunAsync("Verify", key, (c, t) => c.GetObjectMetadataAsync(calls.Bucket, key, t), cancellationToken).ConfigureAwait(false);
        var storedLength = head.Headers.ContentLength;
        if (storedLength != length)
        {
            throw new IntegrityCheckException($"the server stored {storedLength} bytes but {length} were sent {ChunkEncodingHint}.");
        }

        var storedSha256 = head.Metadata[Sha256MetadataKey];
        if (!string.Equals(storedSha256, sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new IntegrityCheckException($"the stored sha256 metadata is '{storedSha256}' but the content's SHA-256 is '{sha256}'.");
        }
    }

    private void CheckETag(string? etag, byte[] md5, bool encryptedWithKey, string what)
    {
        if (!options.VerifyETags || !ContentHashes.IsMd5ETag(etag, encryptedWithKey))
        {
            return;
        }

        var expected = Convert.ToHexStringLower(md5);
        if (!string.Equals(ContentHashes.Unquote(etag), expected, StringComparison.OrdinalIgnoreCase))
        {
            throw new IntegrityCheckException(
                $"the server's ETag for the {what} is {ContentHashes.Unquote(etag)} but the MD5 of the bytes sent is {expected} {ChunkEncodingHint}.");
        }
    }

    private static bool IsKeyEncrypted(ServerSideEncryptionMethod? method, string? customerAlgorithm) =>
        method == ServerSideEncryptionMethod.AWSKMS || method == ServerSideEncryptionMethod.AWSKMSDSSE ||
        (!string.IsNullOrEmpty(customerAlgorithm) && !string.Equals(customerAlgorithm, ServerSideEncryptionCustomerMethod.None.Value, StringComparison.Ordinal));

    private static FileStream OpenRead(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan);
}
