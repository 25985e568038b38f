using Polly.CircuitBreaker;

namespace VisionPlatform.Training.Routing;

/// <summary>What a failed call tells routing about where the job may be.</summary>
internal enum ExecutorFailureKind
{
    /// <summary>The request itself is wrong or refused (validation, forbidden, rejected, conflict, caller cancelled, anything unrecognised): surface it, never fall back.</summary>
    RequestError,

    /// <summary>The executor could not take the request (<see cref="TrainingErrorCode.ExecutorUnavailable"/>, or the circuit is open): falling back is safe.</summary>
    NotSent,

    /// <summary>The executor answered with a failure after the request may have been applied (<see cref="TrainingErrorCode.ExecutorFailure"/>): a lookup settles it.</summary>
    Answered,

    /// <summary>A write was sent and never answered (<see cref="TrainingErrorCode.OutcomeUnknown"/>): only repeating it on the same executor settles it.</summary>
    OutcomeUnknown,
}

/// <summary>
/// Sorts start failures by the <see cref="TrainingException.Code"/> the executor set, and nothing else: no exception
/// digging, no ambient state. Only the infrastructure codes feed the circuit breaker or allow a fallback; anything else
/// is a request error, so an unknown failure never moves a job. The one non-executor case is routing's own open circuit.
/// </summary>
internal static class ExecutorFailureClassifier
{
    public static ExecutorFailureKind Classify(Exception exception, CancellationToken callerToken)
    {
        if (exception is OperationCanceledException && callerToken.IsCancellationRequested)
        {
            return ExecutorFailureKind.RequestError;
        }

        return exception switch
        {
            BrokenCircuitException => ExecutorFailureKind.NotSent,
            TrainingValidationException => ExecutorFailureKind.RequestError,
            TrainingException t when t.Code == TrainingErrorCode.ExecutorUnavailable => ExecutorFailureKind.NotSent,
            TrainingException t when t.Code == TrainingErrorCode.ExecutorFailure => ExecutorFailureKind.Answered,
            TrainingException t when t.Code == TrainingErrorCode.OutcomeUnknown => ExecutorFailureKind.OutcomeUnknown,
            _ => ExecutorFailureKind.RequestError,
        };
    }

    /// <summary>A short, stable reason for metrics and logs: <c>circuit_open</c>, <c>unavailable</c>, <c>outcome_unknown</c> or <c>server_error</c>.</summary>
    public static string ReasonKind(Exception exception) => exception switch
    {
        BrokenCircuitException => "circuit_open",
        TrainingException t when t.Code == TrainingErrorCode.ExecutorUnavailable => "unavailable",
        TrainingException t when t.Code == TrainingErrorCode.OutcomeUnknown => "outcome_unknown",
        _ => "server_error",
    };

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
}
