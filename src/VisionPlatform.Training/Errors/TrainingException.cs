namespace VisionPlatform.Training;

/// <summary>
/// The one exception family of the SDK. Catch it and branch on <see cref="Code"/>:
/// <code>catch (TrainingException e) when (e.Code == TrainingErrorCode.JobConflict) { ... }</code>
/// Messages never contain secret values.
/// </summary>
public class TrainingException : Exception
{
    /// <summary>Creates an exception with a code and a message.</summary>
    /// <param name="code">The machine-readable code.</param>
    /// <param name="message">A human-readable message that names the field or resource and the rule.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public TrainingException(TrainingErrorCode code, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
    }

    /// <summary>Creates an exception with <see cref="TrainingErrorCode.ExecutorFailure"/>.</summary>
    public TrainingException()
        : this(TrainingErrorCode.ExecutorFailure, "A training operation failed.")
    {
    }

    /// <summary>Creates an exception with <see cref="TrainingErrorCode.ExecutorFailure"/> and a message.</summary>
    /// <param name="message">The message.</param>
    public TrainingException(string message)
        : this(TrainingErrorCode.ExecutorFailure, message)
    {
    }

    /// <summary>Creates an exception with <see cref="TrainingErrorCode.ExecutorFailure"/>, a message and an inner exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The underlying error.</param>
    public TrainingException(string message, Exception innerException)
        : this(TrainingErrorCode.ExecutorFailure, message, innerException)
    {
    }

    /// <summary>The machine-readable error code.</summary>
    public TrainingErrorCode Code { get; }

    /// <summary>The executor that raised the error, when known.</summary>
    public string? ExecutorName { get; init; }

    /// <summary>The job id the error concerns, when known.</summary>
    public string? JobId { get; init; }
}
