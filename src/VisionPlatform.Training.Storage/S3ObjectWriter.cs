using System.Buffers;
using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace VisionPlatform.Training.Storage;

/// <summary>
/// Writes one object and proves the server stored exactly the bytes that were read and sent, never trusting the SHA-256
/// the upload itself put into the object's metadata:
/// <list type="number">
/// <item>The file's SHA-256 is computed first and sent as <c>x-amz-meta-sha256</c> (downloads verify against it).</item>
/// <item>Single PUT: the body carries Content-MD5 and the ETag the server computed is compared with the MD5 of the bytes.
/// Multipart: the parts are read once, in order; the SHA-256 and MD5 of exactly those bytes are computed while they are
/// read, each part's ETag is compared with the MD5 of its buffer (the buffer a retry resends), the SHA-256 of the bytes
/// read must equal the one in the metadata before the upload is completed (otherwise the file changed and the upload is
/// aborted), and the completed object's ETag is compared with the MD5 of the part MD5s (S3, MinIO) or of the whole
/// content (s3rver).</item>
/// <item>A HEAD checks the stored size and metadata. When the server's ETags could not vouch for the content
/// (<see cref="ArtifactStorageOptions.VerifyETags"/> off, KMS or customer-key encryption, an ETag of another form), the
/// object is read back and its SHA-256 compared with that of the bytes sent.</item>
/// </list>
/// A PUT or part whose ETag does not match is retried like a transient failure; an object whose read-back hash does not
/// match is uploaded again (up to <see cref="ArtifactStorageOptions.MaxRetryAttempts"/> times); a file that changed
/// during the upload fails it.
/// </summary>
internal sealed class S3ObjectWriter(S3Calls calls, ArtifactStorageOptions options, ILogger logger, TimeProvider time)
{
    public const string Sha256MetadataKey = "x-amz-meta-sha256";

    private const int MaxParts = 10_000;
    private const int ReadBackBufferSize = 1024 * 1024;

    private static readonly string ChunkEncodingHint =
        $"(if the server does not decode aws-chunked bodies, set {ArtifactStorageOptions.SectionName}:UseChunkEncoding to false)";

    public async Task<UploadedArtifact> UploadFileAsync(string filePath, string key, string relativePath, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await UploadFileOnceAsync(filePath, key, relativePath, cancellationToken).ConfigureAwait(false);
            }
            catch (IntegrityCheckException e) when (e.ReadBack && attempt <= options.MaxRetryAttempts && !cancellationToken.IsCancellationRequested)
            {
                // The whole object is wrong: only uploading it again helps.
                var delay = RetryDelay(attempt);
                StorageLog.Retrying(logger, "Upload", calls.Bucket, key, attempt, e.GetType().Name, e.Message, delay);
                await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public async Task<UploadedArtifact> UploadBytesAsync(byte[] content, string key, string relativePath, CancellationToken cancellationToken)
    {
        var sha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(content));
        var verified = await PutAsync(() => new MemoryStream(content, writable: false), key, sha256, ContentHashes.Md5(content), cancellationToken).ConfigureAwait(false);
        await VerifyStoredAsync(key, content.Length, sha256, verified, cancellationToken).ConfigureAwait(false);
        StorageLog.UploadedFile(logger, key, content.Length, 1, sha256);
        return new UploadedArtifact(key, relativePath, content.Length, sha256);
    }

    private async Task<UploadedArtifact> UploadFileOnceAsync(string filePath, string key, string relativePath, CancellationToken cancellationToken)
    {
        var length = new FileInfo(filePath).Length;
        var multipart = length >= options.MultipartThresholdBytes;
        var (sha256, md5) = await ContentHashes.OfFileAsync(filePath, withMd5: !multipart, cancellationToken).ConfigureAwait(false);

        int parts;
        bool verifiedByETags;
        if (multipart)
        {
            (parts, verifiedByETags) = await PutMultipartAsync(filePath, key, length, sha256, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            // The server's MD5 (ETag) of what it received must equal the MD5 of the bytes hashed above: a file that changed
            // since, or bytes altered on the way, fail that comparison (or the read-back when the ETag is not an MD5).
            parts = 1;
            verifiedByETags = await PutAsync(() => OpenRead(filePath), key, sha256, md5!, cancellationToken).ConfigureAwait(false);
        }

        await VerifyStoredAsync(key, length, sha256, verifiedByETags, cancellationToken).ConfigureAwait(false);
        StorageLog.UploadedFile(logger, key, length, parts, sha256);
        return new UploadedArtifact(key, relativePath, length, sha256);
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
                return CheckETag(response.ETag, md5, IsKeyEncrypted(response.ServerSideEncryptionMethod, response.ServerSideEncryptionCustomerMethod?.Value), "object");
            }
        }, cancellationToken);

    private async Task<(int Parts, bool VerifiedByETags)> PutMultipartAsync(string filePath, string key, long length, string sha256, CancellationToken cancellationToken)
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
            var parts = new SentPart[partCount];
            string sentSha256;
            byte[] sentMd5;
            using (var handle = File.OpenHandle(filePath, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous))
            {
                (sentSha256, sentMd5) = await SendPartsAsync(handle, key, uploadId, length, partSize, parts, cancellationToken).ConfigureAwait(false);
            }

            if (!string.Equals(sentSha256, sha256, StringComparison.OrdinalIgnoreCase))
            {
                // Not completed: the object would hold other bytes than the SHA-256 its metadata and the manifest name.
                throw new IOException(
                    $"the file changed while it was uploaded (its SHA-256 was {sha256} before the upload, the bytes read for the parts hash to {sentSha256}); the multipart upload was aborted.");
            }

            var complete = new CompleteMultipartUploadRequest
            {
                BucketName = calls.Bucket, Key = key, UploadId = uploadId, PartETags = [.. parts.Select(p => new PartETag(p.Number, p.ETag))],
            };
            var completed = await calls.RunAsync("Complete multipart upload", key, (c, t) => c.CompleteMultipartUploadAsync(complete, t), cancellationToken)
                .ConfigureAwait(false);
            var verified = parts.All(p => p.VerifiedByETag) &&
                CompletedETagMatches(completed.ETag, parts, sentMd5, IsKeyEncrypted(completed.ServerSideEncryptionMethod, null));
            return (partCount, verified);
        }
        catch
        {
            await AbortAsync(key, uploadId).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Reads the parts once, in order, hashing exactly the bytes read, and sends each from its buffer with at most
    /// <see cref="ArtifactStorageOptions.MaxConcurrentUploads"/> parts (and buffers) in flight.
    /// </summary>
    private async Task<(string Sha256, byte[] Md5)> SendPartsAsync(
        SafeFileHandle handle, string key, string uploadId, long length, long partSize, SentPart[] parts, CancellationToken cancellationToken)
    {
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
#pragma warning disable CA5351 // MD5 is what S3's ETags use; it is an integrity check here, not security.
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
#pragma warning restore CA5351
        using var slots = new SemaphoreSlim(options.MaxConcurrentUploads);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sends = new List<Task>(parts.Length);
        Exception? sendFailure = null;
        Exception? readFailure = null;

        bool RecordReadFailure(Exception e)
        {
            readFailure = e;
            return true;
        }

        async Task SendAsync(int partNumber, byte[] buffer, int size, byte[] partMd5)
        {
            try
            {
                parts[partNumber - 1] = await PutPartAsync(buffer, size, partMd5, key, uploadId, partNumber, parts.Length, stop.Token).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref sendFailure, e, null);
                await stop.CancelAsync().ConfigureAwait(false);
                throw;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
                slots.Release();
            }
        }

        try
        {
            for (var partNumber = 1; partNumber <= parts.Length; partNumber++)
            {
                await slots.WaitAsync(stop.Token).ConfigureAwait(false);
                var offset = (partNumber - 1) * partSize;
                var size = (int)Math.Min(partSize, length - offset);
                var buffer = ArrayPool<byte>.Shared.Rent(size);
                try
                {
                    await ReadExactlyAsync(handle, buffer, size, offset, partNumber, stop.Token).ConfigureAwait(false);
                }
                catch
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    slots.Release();
                    throw;
                }

                sha256.AppendData(buffer, 0, size);
                md5.AppendData(buffer, 0, size);
                sends.Add(SendAsync(partNumber, buffer, size, ContentHashes.Md5(buffer.AsSpan(0, size))));
            }
        }
        catch (Exception e) when (RecordReadFailure(e))
        {
            // Recorded; thrown below once the parts in flight have unwound (they hold the buffers and the semaphore).
            await stop.CancelAsync().ConfigureAwait(false);
        }

        try
        {
            await Task.WhenAll(sends).ConfigureAwait(false);
        }
        catch (Exception) when (sendFailure is not null)
        {
            // Reported below: the first part that failed, not the parts cancelled because of it.
        }

        // A read error (the file ended early, I/O) is the cause even if it cancelled parts in flight; a cancellation of the
        // reader is the consequence of a failed part, or the caller's.
        if (readFailure is not null and not OperationCanceledException)
        {
            ExceptionDispatchInfo.Throw(readFailure);
        }

        if (sendFailure is not null)
        {
            ExceptionDispatchInfo.Throw(sendFailure);
        }

        if (readFailure is not null)
        {
            ExceptionDispatchInfo.Throw(readFailure);
        }

        return (Convert.ToHexStringLower(sha256.GetHashAndReset()), md5.GetHashAndReset());
    }

    private static async Task ReadExactlyAsync(SafeFileHandle handle, byte[] buffer, int size, long offset, int partNumber, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (filled < size)
        {
            var read = await RandomAccess.ReadAsync(handle, buffer.AsMemory(filled, size - filled), offset + filled, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                throw new IOException($"the file ended early while reading part {partNumber}: it changed during the upload.");
            }

            filled += read;
        }
    }

    private async Task<SentPart> PutPartAsync(
        byte[] buffer, int size, byte[] md5, string key, string uploadId, int partNumber, int partCount, CancellationToken cancellationToken)
    {
        var operation = string.Create(CultureInfo.InvariantCulture, $"Upload part {partNumber}/{partCount}");
        return await calls.RunAsync(operation, key, async (client, token) =>
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
            var verified = CheckETag(r.ETag, md5, IsKeyEncrypted(r.ServerSideEncryptionMethod, r.SSECustomerAlgorithm), $"part {partNumber}");
            return new SentPart(partNumber, r.ETag, md5, verified);
        }, cancellationToken).ConfigureAwait(false);
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

    private async Task VerifyStoredAsync(string key, long length, string sha256, bool verifiedByETags, CancellationToken cancellationToken)
    {
        var head = await calls.RunAsync("Verify", key, (c, t) => c.GetObjectMetadataAsync(calls.Bucket, key, t), cancellationToken).ConfigureAwait(false);
        var storedLength = head.Headers.ContentLength;
        if (storedLength != length)
        {
            throw new IntegrityCheckException($"the server stored {storedLength} bytes but {length} were sent {ChunkEncodingHint}.");
        }

        // Only that the server kept the metadata downloads are checked against: it is what was sent, so it proves nothing about the content.
        var storedSha256 = head.Metadata[Sha256MetadataKey];
        if (!string.Equals(storedSha256, sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new IntegrityCheckException($"the stored sha256 metadata is '{storedSha256}' but the content's SHA-256 is '{sha256}'.");
        }

        if (verifiedByETags)
        {
            return;
        }

        // The server's ETags did not vouch for the content: read the object back and hash what it holds.
        var (readLength, readSha256) = await calls.RunAsync("Verify by reading back", key, async (c, t) =>
        {
            using var response = await c.GetObjectAsync(calls.Bucket, key, t).ConfigureAwait(false);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = ArrayPool<byte>.Shared.Rent(ReadBackBufferSize);
            try
            {
                long total = 0;
                int read;
                while ((read = await response.ResponseStream.ReadAsync(buffer.AsMemory(0, ReadBackBufferSize), t).ConfigureAwait(false)) > 0)
                {
                    hash.AppendData(buffer, 0, read);
                    total += read;
                }

                return (total, Convert.ToHexStringLower(hash.GetHashAndReset()));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }, cancellationToken).ConfigureAwait(false);

        if (readLength != length || !string.Equals(readSha256, sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new IntegrityCheckException(
                $"reading the stored object back gives {readLength} bytes with SHA-256 {readSha256}, but the {length} bytes sent hash to {sha256} (the content was altered on the way or by the server).")
            {
                ReadBack = true,
            };
        }
    }

    /// <summary>Compares an ETag with the MD5 of the bytes sent; <see langword="false"/> when it is not an MD5 (or checks are off).</summary>
    private bool CheckETag(string? etag, byte[] md5, bool encryptedWithKey, string what)
    {
        if (!options.VerifyETags || !ContentHashes.IsMd5ETag(etag, encryptedWithKey))
        {
            return false;
        }

        var expected = Convert.ToHexStringLower(md5);
        if (!string.Equals(ContentHashes.Unquote(etag), expected, StringComparison.OrdinalIgnoreCase))
        {
            throw new IntegrityCheckException(
                $"the server's ETag for the {what} is {ContentHashes.Unquote(etag)} but the MD5 of the bytes sent is {expected} {ChunkEncodingHint}.");
        }

        return true;
    }

    /// <summary>
    /// Whether a completed multipart object's ETag vouches for the parts sent: <c>MD5(part MD5s)-N</c> (Amazon S3, MinIO) or
    /// the MD5 of the whole content (s3rver). Any other form, or a mismatch, leaves it to the read-back.
    /// </summary>
    private bool CompletedETagMatches(string? etag, SentPart[] parts, byte[] wholeMd5, bool encryptedWithKey)
    {
        var tag = ContentHashes.Unquote(etag);
        if (!options.VerifyETags || encryptedWithKey || tag is null)
        {
            return false;
        }

        if (tag.Length == 32)
        {
            return string.Equals(tag, Convert.ToHexStringLower(wholeMd5), StringComparison.OrdinalIgnoreCase);
        }

        var dash = tag.IndexOf('-', StringComparison.Ordinal);
        if (dash != 32 || !int.TryParse(tag.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count != parts.Length)
        {
            return false;
        }

        var concatenated = parts.SelectMany(p => p.Md5).ToArray();
        return string.Equals(tag[..32], Convert.ToHexStringLower(ContentHashes.Md5(concatenated)), StringComparison.OrdinalIgnoreCase);
    }

    private TimeSpan RetryDelay(int attempt) =>
        TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(30).Ticks, options.RetryBaseDelay.Ticks * (1L << Math.Min(attempt - 1, 20))));

    private static bool IsKeyEncrypted(ServerSideEncryptionMethod? method, string? customerAlgorithm) =>
        method == ServerSideEncryptionMethod.AWSKMS || method == ServerSideEncryptionMethod.AWSKMSDSSE ||
        (!string.IsNullOrEmpty(customerAlgorithm) && !string.Equals(customerAlgorithm, ServerSideEncryptionCustomerMethod.None.Value, StringComparison.Ordinal));

    private static FileStream OpenRead(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan);

    /// <summary>One part as sent: its number, the server's ETag, the MD5 of its bytes, and whether the ETag proved them.</summary>
    private sealed record SentPart(int Number, string ETag, byte[] Md5, bool VerifiedByETag);
}
