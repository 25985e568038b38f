using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace VisionPlatform.Training.Storage;

/// <summary>
/// The <see cref="IArtifactStore"/> for Amazon S3 and S3-compatible services (Cloudflare R2, MinIO), on AWSSDK.S3.
/// Thread-safe; create one per process (DI registers it as a singleton) and dispose it with the host.
/// </summary>
public sealed partial class S3ArtifactStore : IArtifactStore, IRunLogArchive, IDisposable
{
    private const int DeleteBatchSize = 1000;
    private const long MaxManifestBytes = 64L * 1024 * 1024;

    private readonly ArtifactStorageOptions _options;
    private readonly IAmazonS3 _client;
    private readonly bool _ownsClient;
    private readonly S3Calls _calls;
    private readonly S3ObjectWriter _writer;
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private readonly bool _presignHttp;

    /// <summary>Creates a store from options, with its own S3 client built from them; the options are validated first.</summary>
    /// <param name="options">The storage options.</param>
    /// <param name="logger">The logger; none when <see langword="null"/>.</param>
    /// <param name="timeProvider">The clock (for presigned URL expiry and retry delays); the system clock when <see langword="null"/>.</param>
    /// <exception cref="OptionsValidationException">The options break a rule; the messages name the <c>Training:Storage</c> keys.</exception>
    public S3ArtifactStore(ArtifactStorageOptions options, ILogger<S3ArtifactStore>? logger = null, TimeProvider? timeProvider = null)
        : this((IAmazonS3?)null, Validated(options), logger, timeProvider)
    {
    }

    /// <summary>
    /// Creates a store over an S3 client the host owns (IRSA, pod identity, custom handlers or credentials). The store
    /// uses <paramref name="client"/> as it is and never disposes it. Only the options that do not configure a client
    /// apply (<see cref="ArtifactStorageOptions.Bucket"/>, <see cref="ArtifactStorageOptions.Prefix"/>, multipart,
    /// concurrency, retries, <see cref="ArtifactStorageOptions.VerifyETags"/>, <see cref="ArtifactStorageOptions.UseChunkEncoding"/>,
    /// which when unset follows the client's endpoint: plain bodies when the client has a <c>ServiceURL</c>);
    /// endpoint, region, credentials, checksum settings and the request timeout are the client's. Switch the client's own
    /// retries off (<c>MaxErrorRetry = 0</c>) so that attempts do not multiply with the store's. The options are validated first.
    /// </summary>
    /// <param name="options">The storage options.</param>
    /// <param name="client">The S3 client; the caller keeps owning it.</param>
    /// <param name="logger">The logger; none when <see langword="null"/>.</param>
    /// <param name="timeProvider">The clock (for presigned URL expiry and retry delays); the system clock when <see langword="null"/>.</param>
    /// <exception cref="OptionsValidationException">The options break a rule; the messages name the <c>Training:Storage</c> keys.</exception>
    public S3ArtifactStore(ArtifactStorageOptions options, IAmazonS3 client, ILogger<S3ArtifactStore>? logger = null, TimeProvider? timeProvider = null)
        : this(client ?? throw new ArgumentNullException(nameof(client)), Validated(options), logger, timeProvider)
    {
    }

    /// <summary>Creates a store from DI options (validated at start-up).</summary>
    /// <param name="options">The storage options.</param>
    /// <param name="logger">The logger.</param>
    /// <param name="timeProvider">The clock.</param>
    public S3ArtifactStore(IOptions<ArtifactStorageOptions> options, ILogger<S3ArtifactStore> logger, TimeProvider timeProvider)
        : this((options ?? throw new ArgumentNullException(nameof(options))).Value, logger, timeProvider)
    {
    }

    private S3ArtifactStore(IAmazonS3? client, ArtifactStorageOptions options, ILogger? logger, TimeProvider? timeProvider)
    {
        if (client is not null && options.UseChunkEncoding is null)
        {
            // Unset: decided by the client's endpoint, as it would be by ServiceUrl (plain bodies for a custom endpoint).
            // The options are the store's own snapshot, so this changes nothing the caller sees.
            options.UseChunkEncoding = string.IsNullOrEmpty(client.Config?.ServiceURL);
        }

        _options = options;
        _logger = logger ?? NullLogger.Instance;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _ownsClient = client is null;
        _client = client ?? S3ClientFactory.Create(options);
        _presignHttp = client is null ? S3ClientFactory.UsesHttp(options) : S3ClientFactory.UsesHttp(client);
        Bucket = options.Bucket!;
        _calls = new S3Calls(_client, Bucket, StorageResilience.Create(options, Bucket, _logger, _timeProvider));
        _writer = new S3ObjectWriter(_calls, options, _logger, _timeProvider);
    }

    /// <inheritdoc />
    public string Bucket { get; }

    /// <inheritdoc />
    public string GetRunPrefix(string jobId) => ArtifactKeys.RunPrefix(_options.Prefix, jobId);

    /// <inheritdoc />
    public async Task<RunUploadResult> UploadRunAsync(string jobId, string outputDirectory, string? logFile = null, CancellationToken cancellationToken = default)
    {
        var runPrefix = GetRunPrefix(jobId);
        var files = RunFiles.Collect(jobId, outputDirectory, logFile);
        var totalBytes = files.Sum(f => f.Length);
        var manifestKey = runPrefix + ArtifactLayout.RunManifestFile;
        StorageLog.UploadingRun(_logger, jobId, files.Count, totalBytes, Bucket, runPrefix);

        // What an earlier upload of this run wrote, read before anything is overwritten: only those objects may be removed.
        var previous = await ReadPreviousUploadAsync(jobId, manifestKey, runPrefix, cancellationToken).ConfigureAwait(false);

        // Small files go up several at a time; large files one at a time, each with several parts in flight.
        var uploaded = new UploadedArtifact[files.Count];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrentUploads, CancellationToken = cancellationToken };
        var indexed = files.Select((file, index) => (file, index)).ToList();
        await Parallel.ForEachAsync(indexed.Where(f => f.file.Length < _options.MultipartThresholdBytes), parallel, async (f, token) =>
            uploaded[f.index] = await UploadOneAsync(jobId, runPrefix, f.file, token).ConfigureAwait(false)).ConfigureAwait(false);
        foreach (var (file, index) in indexed.Where(f => f.file.Length >= _options.MultipartThresholdBytes))
        {
            uploaded[index] = await UploadOneAsync(jobId, runPrefix, file, cancellationToken).ConfigureAwait(false);
        }

        // Files of the earlier upload that this one no longer has would make the run look different from what just ran.
        // Only those go: listed in the earlier manifest and still the size it recorded. Whatever else is under the prefix
        // (a trainer's own uploads through VP_ARTIFACT_PREFIX, objects the manifest does not name) is never touched.
        var keep = uploaded.Select(u => u.Key).Append(manifestKey).ToHashSet(StringComparer.Ordinal);
        var stale = new List<string>();
        if (previous is { Count: > 0 })
        {
            await foreach (var artifact in ListRunArtifactsAsync(jobId, cancellationToken).ConfigureAwait(false))
            {
                if (!keep.Contains(artifact.Key) && previous.TryGetValue(artifact.RelativePath, out var size) && size == artifact.Size)
                {
                    stale.Add(artifact.Key);
                }
            }
        }

        var removed = await DeleteKeysAsync(stale, jobId, cancellationToken).ConfigureAwait(false);

        // The manifest goes last: its presence means every file above is in place and verified.
        var manifest = RunManifest.Create(jobId, runPrefix, _timeProvider.GetUtcNow(), uploaded);
        var manifestArtifact = await TranslateAsync("Upload", manifestKey, jobId,
            () => _writer.UploadBytesAsync(manifest, manifestKey, ArtifactLayout.RunManifestFile, cancellationToken), cancellationToken).ConfigureAwait(false);

        var result = new RunUploadResult(jobId, Bucket, runPrefix, [.. uploaded, manifestArtifact], removed);
        StorageLog.UploadedRun(_logger, jobId, result.Artifacts.Count, totalBytes + manifest.Length, removed);
        return result;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<StoredArtifact> ListRunArtifactsAsync(string jobId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var runPrefix = GetRunPrefix(jobId);
        string? continuationToken = null;
        do
        {
            var page = await ListPageAsync(runPrefix, continuationToken, jobId, cancellationToken).ConfigureAwait(false);
            // Zero-byte "folder" markers that some tools create have no relative path: they are not artifacts.
            foreach (var o in (page.S3Objects ?? []).Where(o => o.Key.Length > runPrefix.Length))
            {
                yield return new StoredArtifact(
                    o.Key,
                    o.Key[runPrefix.Length..],
                    o.Size ?? 0,
                    ToOffset(o.LastModified),
                    ContentHashes.Unquote(o.ETag));
            }

            continuationToken = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (continuationToken is not null);
    }

    /// <inheritdoc />
    public async Task<StoredArtifact> DownloadAsync(string jobId, string relativePath, Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var key = KeyOf(jobId, relativePath);
        return await TranslateAsync("Download", key, jobId, async () =>
        {
            var response = await _calls.RunAsync("Download", key, (c, t) => c.GetObjectAsync(Bucket, key, t), cancellationToken).ConfigureAwait(false);
            using (response)
            {
                return await CopyVerifiedAsync(response, key, relativePath, destination, cancellationToken).ConfigureAwait(false);
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<StoredArtifact> DownloadToFileAsync(string jobId, string relativePath, string filePath, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(filePath);
        var key = KeyOf(jobId, relativePath);
        var target = Path.GetFullPath(filePath);
        var directory = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.part");
        try
        {
            var artifact = await TranslateAsync("Download", key, jobId, () =>
                // The whole transfer is retried: the temporary file is simply rewritten.
                _calls.RunAsync("Download", key, async (client, token) =>
                {
                    using var response = await client.GetObjectAsync(Bucket, key, token).ConfigureAwait(false);
                    var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous);
                    await using (file.ConfigureAwait(false))
                    {
                        var result = await CopyVerifiedAsync(response, key, relativePath, file, token).ConfigureAwait(false);
                        await file.FlushAsync(token).ConfigureAwait(false);
                        return result;
                    }
                }, cancellationToken), cancellationToken).ConfigureAwait(false);

            File.Move(temp, target, overwrite: true);
            return artifact;
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <inheritdoc />
    public async Task<Uri> GetDownloadUrlAsync(string jobId, string relativePath, TimeSpan expiresIn, CancellationToken cancellationToken = default)
    {
        if (expiresIn <= TimeSpan.Zero || expiresIn > TimeSpan.FromDays(7))
        {
            throw new ArgumentOutOfRangeException(nameof(expiresIn), expiresIn, "A presigned URL must expire after more than zero and at most 7 days (the S3 signature limit).");
        }

        var key = KeyOf(jobId, relativePath);
        return await TranslateAsync("Presign", key, jobId, async () =>
        {
            // A URL for a missing object would only fail later, in someone's browser: check now.
            await _calls.RunAsync("Presign", key, (c, t) => c.GetObjectMetadataAsync(Bucket, key, t), cancellationToken).ConfigureAwait(false);
            var url = await _client.GetPreSignedURLAsync(new GetPreSignedUrlRequest
            {
                BucketName = Bucket,
                Key = key,
                Verb = HttpVerb.GET,
                Expires = _timeProvider.GetUtcNow().UtcDateTime + expiresIn,
                Protocol = _presignHttp ? Protocol.HTTP : Protocol.HTTPS,
            }).ConfigureAwait(false);
            return new Uri(url);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<int> DeleteRunAsync(string jobId, CancellationToken cancellationToken = default)
    {
        var runPrefix = GetRunPrefix(jobId);

        // List everything first, then delete: deleting while paging would move the pages under the listing.
        var keys = new List<string>();
        await foreach (var artifact in ListRunArtifactsAsync(jobId, cancellationToken).ConfigureAwait(false))
        {
            keys.Add(artifact.Key);
        }

        var deleted = await DeleteKeysAsync(keys, jobId, cancellationToken).ConfigureAwait(false);
        StorageLog.DeletedRun(_logger, jobId, deleted, Bucket, runPrefix);
        return deleted;
    }

    /// <summary>Releases the S3 client the store created; a client passed in by the host is left alone.</summary>
    public void Dispose()
    {
        if (_ownsClient)
        {
            _client.Dispose();
        }
    }

    private static ArtifactStorageOptions Validated(ArtifactStorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options = options.Snapshot();
        new ArtifactStorageOptionsValidator(ArtifactStorageOptions.SectionName).ThrowIfInvalid(options);
        return options;
    }

    private string KeyOf(string jobId, string relativePath)
    {
        if (!ArtifactLayout.IsValidRelativePath(relativePath, out var reason))
        {
            throw new ArgumentException(
                $"The artifact path '{relativePath}' is invalid: {reason}. Use a '/'-separated path relative to the run, for example 'weights/best.pt'.",
                nameof(relativePath));
        }

        return GetRunPrefix(jobId) + relativePath;
    }

    private Task<UploadedArtifact> UploadOneAsync(string jobId, string runPrefix, RunFile file, CancellationToken cancellationToken)
    {
        var key = runPrefix + file.RelativePath;
        return TranslateAsync("Upload", key, jobId,
            () => _writer.UploadFileAsync(file.FullPath, key, file.RelativePath, cancellationToken), cancellationToken);
    }

    /// <summary>The files (relative path, size) recorded by the run's current manifest; <see langword="null"/> when there is none we wrote.</summary>
    private async Task<Dictionary<string, long>?> ReadPreviousUploadAsync(string jobId, string manifestKey, string runPrefix, CancellationToken cancellationToken)
    {
        var content = await TranslateAsync("Read previous manifest", manifestKey, jobId, () => _calls.RunAsync("Read previous manifest", manifestKey, async (c, t) =>
        {
            try
            {
                using var response = await c.GetObjectAsync(Bucket, manifestKey, t).ConfigureAwait(false);
                if (response.Headers.ContentLength > MaxManifestBytes)
                {
                    return Array.Empty<byte>();
                }

                using var buffer = new MemoryStream();
                await response.ResponseStream.CopyToAsync(buffer, t).ConfigureAwait(false);
                return buffer.ToArray();
            }
            catch (AmazonS3Exception e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound && e.ErrorCode != "NoSuchBucket")
            {
                return null;
            }
        }, cancellationToken), cancellationToken).ConfigureAwait(false);

        if (content is null)
        {
            return null; // first upload of this run: nothing of ours to remove
        }

        var files = content.Length == 0 ? null : RunManifest.TryReadFiles(content, runPrefix);
        if (files is null)
        {
            StorageLog.PreviousManifestIgnored(_logger, Bucket, manifestKey, jobId,
                content.Length == 0 ? "empty or larger than " + MaxManifestBytes + " bytes" : "not a schema " + RunManifest.SchemaVersion + " manifest for " + runPrefix);
        }

        return files;
    }

    private Task<ListObjectsV2Response> ListPageAsync(string runPrefix, string? continuationToken, string jobId, CancellationToken cancellationToken) =>
        TranslateAsync("List", runPrefix, jobId, () => _calls.RunAsync("List", runPrefix, (c, t) => c.ListObjectsV2Async(
            new ListObjectsV2Request { BucketName = Bucket, Prefix = runPrefix, ContinuationToken = continuationToken }, t), cancellationToken), cancellationToken);

    private async Task<int> DeleteKeysAsync(List<string> keys, string jobId, CancellationToken cancellationToken)
    {
        var deleted = 0;
        foreach (var batch in keys.Chunk(DeleteBatchSize))
        {
            var response = await TranslateAsync("Delete", batch[0], jobId, () => _calls.RunAsync("Delete", batch[0], (c, t) => c.DeleteObjectsAsync(
                new DeleteObjectsRequest { BucketName = Bucket, Quiet = true, Objects = [.. batch.Select(k => new KeyVersion { Key = k })] }, t),
                cancellationToken), cancellationToken).ConfigureAwait(false);

            if (response.DeleteErrors is { Count: > 0 } errors)
            {
                var first = errors[0];
                throw new TrainingException(
                    first.Code == "AccessDenied" ? TrainingErrorCode.Forbidden : TrainingErrorCode.ExecutorFailure,
                    $"Delete of {errors.Count} of {batch.Length} objects in bucket '{Bucket}' failed; first: '{first.Key}': {first.Code}: {first.Message}")
                { JobId = jobId };
            }

            deleted += batch.Length;
        }

        return deleted;
    }

    private async Task<StoredArtifact> CopyVerifiedAsync(GetObjectResponse response, string key, string relativePath, Stream destination, CancellationToken cancellationToken)
    {
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[81920];
        long total = 0;
        var source = response.ResponseStream;
        int read;
        while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            sha256.AppendData(buffer, 0, read);
            await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            total += read;
        }

        var expectedLength = response.Headers.ContentLength;
        if (total != expectedLength)
        {
            throw new IntegrityCheckException($"received {total} bytes but the server announced {expectedLength}.");
        }

        var stored = response.Metadata[S3ObjectWriter.Sha256MetadataKey];
        var actual = Convert.ToHexStringLower(sha256.GetHashAndReset());
        var verified = !string.IsNullOrEmpty(stored);
        if (verified && !string.Equals(stored, actual, StringComparison.OrdinalIgnoreCase))
        {
            throw new IntegrityCheckException($"the content's SHA-256 is {actual} but the object's sha256 metadata is {stored}.");
        }

        StorageLog.Downloaded(_logger, Bucket, key, total, verified);
        return new StoredArtifact(key, relativePath, total, ToOffset(response.LastModified), ContentHashes.Unquote(response.ETag));
    }

    private static DateTimeOffset? ToOffset(DateTime? time) => time switch
    {
        null => null,
        { Kind: DateTimeKind.Unspecified } t => new DateTimeOffset(t, TimeSpan.Zero), // the wire format is UTC
        { } t => new DateTimeOffset(t.ToUniversalTime(), TimeSpan.Zero),
    };

    private async Task<T> TranslateAsync<T>(string operation, string key, string jobId, Func<Task<T>> action, CancellationToken cancellationToken)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (Exception e) when (S3ErrorTranslator.ShouldTranslate(e, cancellationToken))
        {
            throw S3ErrorTranslator.Translate(e, operation, Bucket, key, jobId);
        }
    }
}
