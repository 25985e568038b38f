using Microsoft.Extensions.Logging;

namespace VisionPlatform.Training.Kubernetes.Resilience;

/// <summary>The resilience handler's log messages. Event ids 2300-2399 are reserved for it and are stable.</summary>
internal static partial class KubernetesResilienceLog
{
    [LoggerMessage(EventId = 2300, EventName = "KubernetesApiRetry", Level = LogLevel.Warning,
        Message = "Kubernetes API {Method} {Path} failed ({Outcome}); retry {Attempt} in {Delay}")]
    public static partial void Retrying(ILogger logger, string method, string path, string outcome, int attempt, TimeSpan delay);

    [LoggerMessage(EventId = 2301, EventName = "KubernetesApiRetryAfterTooLong", Level = LogLevel.Warning,
        Message = "Kubernetes API {Method} {Path} answered {StatusCode} with Retry-After {RetryAfter}, longer than Training:Kubernetes:Connection:Resilience:MaxRetryAfter; not retrying")]
    public static partial void RetryAfterTooLong(ILogger logger, string method, string path, int statusCode, TimeSpan retryAfter);

    [LoggerMessage(EventId = 2302, EventName = "KubernetesApiGaveUp", Level = LogLevel.Warning,
        Message = "Kubernetes API {Method} {Path} failed after {Attempts} attempt(s): {Outcome}")]
    public static partial void GaveUp(ILogger logger, string method, string path, int attempts, string outcome);
}
