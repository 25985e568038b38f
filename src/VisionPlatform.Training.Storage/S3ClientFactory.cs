using Amazon;
using Amazon.Runtime;
using Amazon.S3;

namespace VisionPlatform.Training.Storage;

/// <summary>Builds the S3 client from validated options.</summary>
internal static class S3ClientFactory
{
    public static IAmazonS3 Create(ArtifactStorageOptions options)
    {
        var config = new ArtifactS3Config
        {
            DisableChunkEncoding = !options.EffectiveUseChunkEncoding,
            ForcePathStyle = options.EffectiveForcePathStyle,
            Timeout = options.RequestTimeout,

            // One retry layer only: the store's resilience pipeline retries (and logs) transient failures.
            MaxErrorRetry = 0,
        };

        if (options.HasCustomEndpoint)
        {
            config.ServiceURL = options.ServiceUrl;
            config.AuthenticationRegion = options.AuthenticationRegion ?? options.Region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
            if (options.AuthenticationRegion is not null)
            {
                config.AuthenticationRegion = options.AuthenticationRegion;
            }
        }

        if (options.EffectiveRequestChecksumCalculation is { } request)
        {
            config.RequestChecksumCalculation = request;
        }

        if (options.EffectiveResponseChecksumValidation is { } response)
        {
            config.ResponseChecksumValidation = response;
        }

        return string.IsNullOrEmpty(options.AccessKeyId)
            ? new ArtifactS3Client(config)
            : new ArtifactS3Client(new BasicAWSCredentials(options.AccessKeyId, options.SecretAccessKey), config);
    }

    /// <summary>Whether presigned URLs must use http (the SDK defaults to https even for an http endpoint).</summary>
    public static bool UsesHttp(ArtifactStorageOptions options) =>
        options.HasCustomEndpoint && options.ServiceUrl!.StartsWith("http://", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether presigned URLs of a host-supplied client must use http: its endpoint is an http URL.</summary>
    public static bool UsesHttp(IAmazonS3 client) =>
        client.Config?.ServiceURL is { } url && url.StartsWith("http://", StringComparison.OrdinalIgnoreCase);
}
