using Microsoft.Extensions.Logging;

namespace VisionPlatform.Training.Storage;

/// <summary>The store's log messages (event ids 4100-4199). Never logs credentials.</summary>
internal static partial class StorageLog
{
    [LoggerMessage(EventId = 4100, Level = LogLevel.Information, Message = "Uploading run {JobId}: {FileCount} files, {TotalBytes} bytes to s3://{Bucket}/{RunPrefix}")]
    public static partial void UploadingRun(ILogger logger, string jobId, int fileCount, long totalBytes, string bucket, string runPrefix);

    [LoggerMessage(EventId = 4101, Level = LogLevel.Debug, Message = "Uploaded and verified {Key} ({Size} bytes, {Parts} parts, sha256 {Sha256})")]
    public static partial void UploadedFile(ILogger logger, string key, long size, int parts, string sha256);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Information, Message = "Uploaded run {JobId}: {FileCount} files, {TotalBytes} bytes; removed {Removed} stale objects")]
    public static partial void UploadedRun(ILogger logger, string jobId, int fileCount, long totalBytes, int removed);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Warning, Message = "{Operation} of s3://{Bucket}/{Key} failed transiently (attempt {Attempt}: {ErrorType}: {Error}); retrying in {Delay}")]
    public static partial void Retrying(ILogger logger, string operation, string bucket, string key, int attempt, string errorType, string error, TimeSpan delay);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Information, Message = "Deleted {Count} objects of run {JobId} under s3://{Bucket}/{RunPrefix}")]
    public static partial void DeletedRun(ILogger logger, string jobId, int count, string bucket, string runPrefix);

    [LoggerMessage(EventId = 4105, Level = LogLevel.Debug, Message = "Downloaded s3://{Bucket}/{Key} ({Size} bytes, verified {Verified})")]
    public static partial void Downloaded(ILogger logger, string bucket, string key, long size, bool verified);

    [LoggerMessage(EventId = 4106, Level = LogLevel.Warning, Message = "Aborting multipart upload of s3://{Bucket}/{Key} after a failure")]
    public static partial void AbortingMultipart(ILogger logger, string bucket, string key);

    [LoggerMessage(EventId = 4107, Level = LogLevel.Warning, Message = "Could not abort multipart upload of s3://{Bucket}/{Key} ({ErrorType}); the server's lifecycle rules must clean it up")]
    public static partial void AbortFailed(ILogger logger, string bucket, string key, string errorType);

    [LoggerMessage(EventId = 4108, Level = LogLevel.Warning, Message = "The previous upload manifest s3://{Bucket}/{Key} is not one this store wrote for the run ({Reason}); no earlier objects of run {JobId} are removed")]
    public static partial void PreviousManifestIgnored(ILogger logger, string bucket, string key, string jobId, string reason);

    [LoggerMessage(EventId = 4110, Level = LogLevel.Warning, Message = "The archived log of run {JobId} reached its limit of {MaxBytes} bytes (Training:Storage:LogArchiveMaxBytesPerRun); further log chunks of the run are not archived")]
    public static partial void LogArchiveFull(ILogger logger, string jobId, long maxBytes);
}
