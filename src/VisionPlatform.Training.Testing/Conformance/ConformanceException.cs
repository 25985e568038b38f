namespace VisionPlatform.Training.Testing;

/// <summary>
/// A conformance case found the executor breaking the contract. The message names what was expected and what the
/// executor did, so it reads as a test failure in any test framework.
/// </summary>
public sealed class ConformanceException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public ConformanceException()
        : base("The executor does not conform.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was expected and what happened.</param>
    public ConformanceException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the error that caused it.</summary>
    /// <param name="message">What was expected and what happened.</param>
    /// <param name="innerException">The error the executor raised.</param>
    public ConformanceException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
