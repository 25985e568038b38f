using System.Net;
using Amazon.S3;

namespace VisionPlatform.Training.Storage;

/// <summary>Turns S3 and transport errors into <see cref="TrainingException"/>s that name the bucket and key, never credentials.</summary>
internal static class S3ErrorTranslator
{
    public static TrainingException Translate(Exception exception, string operation, string bucket, string? key, string? jobId)
    {
        var where = key is null ? $"bucket '{bucket}'" : $"'{key}' in bucket '{bucket}'";
        var (code, message) = exception switch
        {
            AmazonS3Exception { ErrorCode: "NoSuchBucket" } =>
                (TrainingErrorCode.ArtifactNotFound, $"{operation} failed: the bucket '{bucket}' does not exist. Create it or fix {ArtifactStorageOptions.SectionName}:Bucket."),
            AmazonS3Exception { ErrorCode: "NoSuchKey" } =>
                (TrainingErrorCode.ArtifactNotFound, $"{operation} failed: the object '{key}' does not exist in bucket '{bucket}'."),
            AmazonS3Exception { StatusCode: HttpStatusCode.NotFound } e =>
                (TrainingErrorCode.ArtifactNotFound, $"{operation} failed: {where} was not found (the object or the bucket does not exist; server said {Code(e)})."),
            AmazonS3Exception { StatusCode: HttpStatusCode.Forbidden } e =>
                (TrainingErrorCode.Forbidden, $"{operation} of {where} was refused ({Code(e)}): check {ArtifactStorageOptions.SectionName}:AccessKeyId and SecretAccessKey (or the AWS credential environment) and the bucket's permissions."),
            OperationCanceledException or TimeoutException =>
                (TrainingErrorCode.ExecutorFailure, $"{operation} of {where} timed out (see {ArtifactStorageOptions.SectionName}:RequestTimeout) or the connection was lost: {StorageResilience.Describe(exception)}"),
            IntegrityCheckException e =>
                (TrainingErrorCode.ExecutorFailure, $"{operation} of {where} failed its integrity check: {e.Message}"),
            _ =>
                (TrainingErrorCode.ExecutorFailure, $"{operation} of {where} failed: {StorageResilience.Describe(exception)}"),
        };

        return new TrainingException(code, message, exception) { JobId = jobId };
    }

    /// <summary>Whether an exception should become a <see cref="TrainingException"/>: not already one, not an argument error, not the caller's cancellation.</summary>
    public static bool ShouldTranslate(Exception exception, CancellationToken cancellationToken) =>
        exception is not (TrainingException or ArgumentException) &&
        !(exception is OperationCanceledException && cancellationToken.IsCancellationRequested);

    private static string Code(AmazonS3Exception e) => e.ErrorCode is { Length: > 0 } c ? $"{c}, HTTP {(int)e.StatusCode}" : $"HTTP {(int)e.StatusCode}";
}
