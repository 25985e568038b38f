namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Thrown by <see cref="KubernetesResilienceHandler"/> when a create, update or delete failed after one of its attempts
/// went unanswered: the server may still apply it. The executor translates it to a <see cref="TrainingException"/> with
/// <see cref="TrainingErrorCode.OutcomeUnknown"/>.
/// </summary>
public sealed class KubernetesOutcomeUnknownException : HttpRequestException
{
    /// <summary>Creates the exception.</summary>
    public KubernetesOutcomeUnknownException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was sent and what the last attempt got.</param>
    public KubernetesOutcomeUnknownException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was sent and what the last attempt got.</param>
    /// <param name="inner">The last attempt's failure, if it failed with an exception.</param>
    public KubernetesOutcomeUnknownException(string message, Exception? inner)
        : base(message, inner)
    {
    }
}
