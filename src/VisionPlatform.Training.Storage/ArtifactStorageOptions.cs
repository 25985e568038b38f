using Amazon.Runtime;

namespace VisionPlatform.Training.Storage;

/// <summary>
/// Where and how run artifacts are stored in S3-compatible object storage (Amazon S3, Cloudflare R2, MinIO),
/// usually bound from <c>Training:Storage</c>. Validated at start-up; every message names the configuration key.
/// Settings left unset get defaults that depend on whether <see cref="ServiceUrl"/> points at a custom endpoint.
/// </summary>
public sealed class ArtifactStorageOptions
{
    /// <summary>The configuration section these options are usually bound from.</summary>
    public const string SectionName = "Training:Storage";

    /// <summary>The smallest part S3 accepts in a multipart upload (5 MiB), also the smallest allowed threshold.</summary>
    public const long MinimumPartSizeBytes = 5L * 1024 * 1024;

    /// <summary>The largest single PUT S3 accepts (5 GiB), also the largest allowed threshold.</summary>
    public const long MaximumThresholdBytes = 5L * 1024 * 1024 * 1024;

    /// <summary>The largest allowed part size (1 GiB): each part in flight is held in memory once.</summary>
    public const long MaximumPartSizeBytes = 1L * 1024 * 1024 * 1024;

    /// <summary>
    /// The endpoint of an S3-compatible service, for example <c>https://&lt;account&gt;.r2.cloudflarestorage.com</c>
    /// or <c>http://minio:9000</c>. Unset: Amazon S3 in <see cref="Region"/>.
    /// </summary>
    public string? ServiceUrl { get; set; }

    /// <summary>The bucket that holds the artifacts (required).</summary>
    public string? Bucket { get; set; }

    /// <summary>
    /// The region (default <c>us-east-1</c>). For Amazon S3 it selects the endpoint; for custom endpoints it is the
    /// signing region unless <see cref="AuthenticationRegion"/> is set. Cloudflare R2 accepts <c>auto</c> and treats
    /// <c>us-east-1</c> as an alias of it; MinIO expects its configured region (<c>us-east-1</c> by default).
    /// </summary>
    public string Region { get; set; } = "us-east-1";

    /// <summary>The region used to sign requests when it differs from <see cref="Region"/>.</summary>
    public string? AuthenticationRegion { get; set; }

    /// <summary>
    /// Address buckets as <c>endpoint/bucket/key</c> instead of <c>bucket.endpoint/key</c>.
    /// Unset: <see langword="true"/> for a custom <see cref="ServiceUrl"/> (MinIO and most self-hosted servers need it), otherwise <see langword="false"/>.
    /// </summary>
    public bool? ForcePathStyle { get; set; }

    /// <summary>The access key id. Unset: the standard AWS credential chain (environment variables, profiles, instance roles).</summary>
    public string? AccessKeyId { get; set; }

    /// <summary>The secret access key; set together with <see cref="AccessKeyId"/>. Never logged, never in <see cref="ToString"/> or exceptions.</summary>
    public string? SecretAccessKey { get; set; }

    /// <summary>
    /// When the SDK adds checksums to requests. Unset: <see cref="RequestChecksumCalculation.WHEN_REQUIRED"/> for a custom
    /// <see cref="ServiceUrl"/> (R2, MinIO and others reject or mangle the newer checksum headers), the SDK default otherwise.
    /// </summary>
    public RequestChecksumCalculation? RequestChecksumCalculation { get; set; }

    /// <summary>When the SDK validates response checksums. Unset: <see cref="ResponseChecksumValidation.WHEN_REQUIRED"/> for a custom <see cref="ServiceUrl"/>, the SDK default otherwise.</summary>
    public ResponseChecksumValidation? ResponseChecksumValidation { get; set; }

    /// <summary>
    /// Whether upload bodies may be sent with <c>aws-chunked</c> content encoding. Unset: <see langword="false"/> for a custom
    /// <see cref="ServiceUrl"/> so that servers which do not decode it store the exact bytes, <see langword="true"/> for Amazon S3.
    /// Applies to every request of the store, single PUTs and multipart parts alike.
    /// </summary>
    public bool? UseChunkEncoding { get; set; }

    /// <summary>The key prefix under which runs are stored (default <c>jobs</c>; empty for the bucket root).</summary>
    public string Prefix { get; set; } = "jobs";

    /// <summary>Files of this size or larger are uploaded in parts (default 16 MiB; at least 5 MiB, at most 5 GiB).</summary>
    public long MultipartThresholdBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>The part size of multipart uploads (default 16 MiB; at least 5 MiB, at most 1 GiB). Grown automatically when a file would need more than 10,000 parts.</summary>
    public long MultipartPartSizeBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>How many files or parts are uploaded at once (default 4, at most 64). Each part in flight holds one part of memory.</summary>
    public int MaxConcurrentUploads { get; set; } = 4;

    /// <summary>
    /// The largest archived log chunk (<see cref="IRunLogArchive.MaxChunkBytes"/>) in bytes: default 2 MiB, from 1 MiB + 64 bytes
    /// (one line of <see cref="TrainingLogLine.MaxLineBytes"/> with its timestamp fits) to 64 MiB.
    /// </summary>
    public int LogChunkMaxBytes { get; set; } = 2 * 1024 * 1024;

    /// <summary>
    /// The most a run's archived log may hold, in bytes (default 256 MiB, at least <see cref="LogChunkMaxBytes"/>). Once
    /// reached, further chunks are refused with a warning (the log kept so far is never dropped).
    /// </summary>
    public long LogArchiveMaxBytesPerRun { get; set; } = 256L * 1024 * 1024;

    /// <summary>How often a request that failed transiently (5xx, throttling, timeouts, dropped connections) is retried (default 4; 0 disables retries).</summary>
    public int MaxRetryAttempts { get; set; } = 4;

    /// <summary>The delay before the first retry; later retries back off exponentially with jitter (default 1 s).</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The timeout of one request (default 5 minutes); a timed-out request counts as a transient failure.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Compare the ETag the server returns for a single PUT or a part with the MD5 of the bytes sent, when the ETag is an
    /// MD5 (no KMS or customer-key encryption). Default <see langword="true"/>; turn off only for servers whose ETags are not MD5s.
    /// </summary>
    public bool VerifyETags { get; set; } = true;

    /// <summary>A copy, so that a store is not affected by later changes to the caller's instance.</summary>
    internal ArtifactStorageOptions Snapshot() => (ArtifactStorageOptions)MemberwiseClone();

    /// <summary>The endpoint, region and credentials, for processes other than the host that write to the same bucket.</summary>
    internal ArtifactStorageConnection ToConnection() => new()
    {
        ServiceUrl = HasCustomEndpoint ? ServiceUrl : null,
        Region = Region,
        AccessKeyId = string.IsNullOrEmpty(AccessKeyId) ? null : AccessKeyId,
        SecretAccessKey = string.IsNullOrEmpty(SecretAccessKey) ? null : SecretAccessKey,
    };

    /// <summary>Whether <see cref="ServiceUrl"/> names a custom (non-AWS) endpoint.</summary>
    internal bool HasCustomEndpoint => !string.IsNullOrWhiteSpace(ServiceUrl);

    internal bool EffectiveForcePathStyle => ForcePathStyle ?? HasCustomEndpoint;

    internal bool EffectiveUseChunkEncoding => UseChunkEncoding ?? !HasCustomEndpoint;

    internal RequestChecksumCalculation? EffectiveRequestChecksumCalculation =>
        RequestChecksumCalculation ?? (HasCustomEndpoint ? Amazon.Runtime.RequestChecksumCalculation.WHEN_REQUIRED : null);

    internal ResponseChecksumValidation? EffectiveResponseChecksumValidation =>
        ResponseChecksumValidation ?? (HasCustomEndpoint ? Amazon.Runtime.ResponseChecksumValidation.WHEN_REQUIRED : null);

    /// <summary>
    /// Describes the settings; credentials are reported only as set or unset, never by value, and a
    /// <see cref="ServiceUrl"/>'s user info, query and fragment show as <c>***</c>.
    /// </summary>
    public override string ToString() =>
        $"ArtifactStorageOptions {{ ServiceUrl = {ServiceUrlRedaction.Redact(ServiceUrl) ?? "(Amazon S3)"}, Bucket = {Bucket}, Region = {Region}, " +
        $"AuthenticationRegion = {AuthenticationRegion}, ForcePathStyle = {EffectiveForcePathStyle}, Prefix = {Prefix}, " +
        $"AccessKeyId = {(AccessKeyId is null ? "(unset)" : "(set)")}, SecretAccessKey = {(SecretAccessKey is null ? "(unset)" : "(redacted)")}, " +
        $"RequestChecksumCalculation = {EffectiveRequestChecksumCalculation?.ToString() ?? "(SDK default)"}, " +
        $"ResponseChecksumValidation = {EffectiveResponseChecksumValidation?.ToString() ?? "(SDK default)"}, UseChunkEncoding = {EffectiveUseChunkEncoding}, " +
        $"MultipartThresholdBytes = {MultipartThresholdBytes}, MultipartPartSizeBytes = {MultipartPartSizeBytes}, MaxConcurrentUploads = {MaxConcurrentUploads}, " +
        $"LogChunkMaxBytes = {LogChunkMaxBytes}, LogArchiveMaxBytesPerRun = {LogArchiveMaxBytesPerRun}, " +
        $"MaxRetryAttempts = {MaxRetryAttempts}, RetryBaseDelay = {RetryBaseDelay}, RequestTimeout = {RequestTimeout}, VerifyETags = {VerifyETags} }}";
}
