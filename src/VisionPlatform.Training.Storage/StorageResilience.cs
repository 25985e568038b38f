using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace VisionPlatform.Training.Storage;

/// <summary>The state every retried request carries: what it is, for the log.</summary>
internal readonly record struct StorageOperation(string Name, string Key);

/// <summary>
/// Retries transient failures: 5xx and throttling answers, request timeouts, dropped or reset connections, and a stored
/// object that does not match what was sent. Everything else (missing bucket or key, access denied) fails at once.
/// </summary>
internal static class StorageResilience
{
    public static readonly ResiliencePropertyKey<StorageOperation> OperationKey = new("vp.storage.operation");

    private static readonly HashSet<string> TransientErrorCodes = new(StringComparer.Ordinal)
    {
        "RequestTimeout", "RequestTimeoutException", "SlowDown", "Throttling", "ThrottlingException", "InternalError",
        "ServiceUnavailable", "RequestTimeTooSkewed", "BadDigest", "IncompleteBody", "XAmzContentSHA256Mismatch",
    };

    public static ResiliencePipeline Create(ArtifactStorageOptions options, string bucket, ILogger logger, TimeProvider timeProvider)
    {
        var builder = new ResiliencePipelineBuilder { TimeProvider = timeProvider };
        if (options.MaxRetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetryAttempts,
                Delay = options.RetryBaseDelay,
                MaxDelay = TimeSpan.FromSeconds(30),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Exception is { } e && !args.Context.CancellationToken.IsCancellationRequested && IsTransient(e)),
                OnRetry = args =>
                {
                    var operation = args.Context.Properties.GetValue(OperationKey, new StorageOperation("Request", string.Empty));
                    var e = args.Outcome.Exception!;
                    StorageLog.Retrying(logger, operation.Name, bucket, operation.Key, args.AttemptNumber + 1, e.GetType().Name, Describe(e), args.RetryDelay);
                    return default;
                },
            });
        }

        return builder.Build();
    }

    public static bool IsTransient(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case IntegrityCheckException:
                case HttpRequestException:
                case SocketException:
                case TimeoutException:
                case OperationCanceledException: // a request timeout; the caller's cancellation is excluded by the predicate
                    return true;
                case FileNotFoundException or DirectoryNotFoundException or PathTooLongException or UnauthorizedAccessException:
                    return false;
                case IOException:
                    return true;
                case AmazonServiceException s when s.StatusCode is HttpStatusCode.TooManyRequests || (int)s.StatusCode >= 500:
                    return true;
                case AmazonServiceException s when s.ErrorCode is not null && TransientErrorCodes.Contains(s.ErrorCode):
                    return true;
                case AmazonServiceException s when s.StatusCode != 0:
                    return false; // a real answer from the server, such as 403 or 404
            }
        }

        return false;
    }

    /// <summary>A short, secret-free description of an error for logs and messages.</summary>
    public static string Describe(Exception e) => e switch
    {
        AmazonServiceException s when s.ErrorCode is not null => $"{s.ErrorCode} (HTTP {(int)s.StatusCode}): {s.Message}",
        _ when e.InnerException is { } inner && e is AmazonClientException => $"{e.Message} ({inner.GetType().Name}: {inner.Message})",
        _ => e.Message,
    };
}

/// <summary>The server stored something other than what was sent (size, ETag or checksum differ).</summary>
internal sealed class IntegrityCheckException(string message) : Exception(message)
{
    /// <summary>The whole stored object, read back, differs from what was sent: only uploading it again can help.</summary>
    public bool ReadBack { get; init; }
}
