using System.Net.Sockets;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace VisionPlatform.Training.Routing;

/// <summary>What a failed call tells the manager about where the job may be.</summary>
internal enum ExecutorFailureKind
{
    /// <summary>The request itself is wrong or refused (validation, 403, 422, conflict, caller cancelled): surface it, never fall back.</summary>
    RequestError,

    /// <summary>The executor could not be reached and the request cannot have reached it (connection refused, circuit open).</summary>
    NotSent,

    /// <summary>The request may have reached the executor before it failed (timeout, 5xx, connection lost mid-request).</summary>
    Ambiguous,
}

/// <summary>
/// Sorts start failures into request errors and infrastructure failures. Only infrastructure failures feed the circuit
/// breaker or allow a fallback; anything the classifier does not recognise is treated as a request error, so an
/// unknown failure never moves a job.
/// </summary>
internal static class ExecutorFailureClassifier
{
    public static ExecutorFailureKind Classify(Exception exception, CancellationToken callerToken)
    {
        if (exception is OperationCanceledException && callerToken.IsCancellationRequested)
        {
            return ExecutorFailureKind.RequestError;
        }

        switch (exception)
        {
            case BrokenCircuitException:
                return ExecutorFailureKind.NotSent;
            case TrainingValidationException:
                return ExecutorFailureKind.RequestError;
            case TrainingException t when t.Code == TrainingErrorCode.ExecutorUnavailable:
                // "Not configured" or "unreachable" without a cause is a refusal before sending.
                return t.InnerException is null ? ExecutorFailureKind.NotSent : ClassifyTransport(t.InnerException);
            case TrainingException t when t.Code == TrainingErrorCode.ExecutorFailure:
                return t.InnerException is null ? ExecutorFailureKind.Ambiguous : ClassifyTransport(t.InnerException);
            case TrainingException:
                return ExecutorFailureKind.RequestError;
            case HttpRequestException or TimeoutRejectedException or TimeoutException or OperationCanceledException or IOException or SocketException:
                return ClassifyTransport(exception);
            default:
                return ExecutorFailureKind.RequestError;
        }
    }

    /// <summary>A short, stable reason for metrics and logs: <c>connection_failed</c>, <c>circuit_open</c>, <c>timeout</c> or <c>server_error</c>.</summary>
    public static string ReasonKind(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case BrokenCircuitException:
                    return "circuit_open";
                case TimeoutRejectedException or TimeoutException or OperationCanceledException:
                    return "timeout";
                case HttpRequestException h when IsNotSent(h):
                    return "connection_failed";
                case SocketException s when IsNotSent(s):
                    return "connection_failed";
            }
        }

        return "server_error";
    }

    /// <summary>The innermost useful message, without stack traces.</summary>
    public static string Describe(Exception exception)
    {
        if (exception is BrokenCircuitException)
        {
            return "the circuit breaker is open after repeated failures";
        }

        return exception is TrainingException || exception.InnerException is null
            ? exception.Message
            : $"{exception.Message} ({exception.InnerException.Message})";
    }

    private static ExecutorFailureKind ClassifyTransport(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case BrokenCircuitException:
                    return ExecutorFailureKind.NotSent;
                case HttpRequestException h when IsNotSent(h):
                    return ExecutorFailureKind.NotSent;
                case SocketException s when IsNotSent(s):
                    return ExecutorFailureKind.NotSent;
            }
        }

        return ExecutorFailureKind.Ambiguous;
    }

    private static bool IsNotSent(HttpRequestException e) =>
        e.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError
            or HttpRequestError.SecureConnectionError or HttpRequestError.ProxyTunnelError;

    private static bool IsNotSent(SocketException e) =>
        e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.HostNotFound or SocketError.HostUnreachable
            or SocketError.NetworkUnreachable or SocketError.AddressNotAvailable or SocketError.TryAgain;
}
