using Microsoft.Extensions.Logging;

namespace VisionPlatform.Training.Subprocess.Artifacts;

/// <summary>
/// The subprocess executor's upload messages (stable event ids 1080-1089). They carry the bucket, the key prefix and
/// the store's error messages, which never contain credentials.
/// </summary>
internal static partial class ArtifactUploadLog
{
    [LoggerMessage(1080, LogLevel.Information, "Uploading the outputs of training job {JobId} to s3://{Bucket}/{RunPrefix} (attempt {Attempt} of {Attempts}).")]
    public static partial void Uploading(ILogger logger, string jobId, string bucket, string runPrefix, int attempt, int attempts);

    [LoggerMessage(1081, LogLevel.Information, "Uploaded the outputs of training job {JobId}: {FileCount} files, {TotalBytes} bytes in s3://{Bucket}/{RunPrefix}.")]
    public static partial void Uploaded(ILogger logger, string jobId, int fileCount, long totalBytes, string bucket, string runPrefix);

    [LoggerMessage(1082, LogLevel.Warning, "Uploading the outputs of training job {JobId} failed (attempt {Attempt} of {Attempts}: {ErrorType}: {Error}); retrying in {Delay}.")]
    public static partial void AttemptFailed(ILogger logger, string jobId, int attempt, int attempts, string errorType, string error, TimeSpan delay);

    [LoggerMessage(1083, LogLevel.Error, "Uploading the outputs of training job {JobId} failed for good after {Attempts} attempt(s) ({ErrorType}: {Error}); they stay in {OutputDirectory}.")]
    public static partial void UploadFailed(ILogger logger, string jobId, int attempts, string errorType, string error, string outputDirectory);

    [LoggerMessage(1084, LogLevel.Information, "The upload of training job {JobId} was interrupted by the executor's shutdown; the next executor over {RunDirectory} resumes it.")]
    public static partial void Interrupted(ILogger logger, string jobId, string runDirectory);

    [LoggerMessage(1085, LogLevel.Debug, "Training job {JobId} is not uploaded: its trainer never started.")]
    public static partial void Skipped(ILogger logger, string jobId);

    [LoggerMessage(1086, LogLevel.Error, "The upload of training job {JobId} could not be recorded in {RunDirectory}; it stopped.")]
    public static partial void RecordFailed(ILogger logger, string jobId, string runDirectory, Exception exception);
}
