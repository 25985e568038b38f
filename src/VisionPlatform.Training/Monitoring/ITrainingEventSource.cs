namespace VisionPlatform.Training;

/// <summary>
/// Live events of the runs the SDK manages, from every executor: phase changes, progress, log lines (opt-in) and fallback
/// decisions. To wait for one run, use <see cref="TrainingOperation.WaitForCompletionAsync(CancellationToken)"/>. Resolve it from DI (<c>AddTrainingExecutors</c> registers it). Kubernetes runs are observed by one watch per
/// namespace; subprocess runs by their process exit and log. Each subscriber has its own bounded buffer.
/// </summary>
public interface ITrainingEventSource
{
    /// <summary>
    /// Subscribes to events. Settings are checked at once; the subscription itself starts with the first
    /// <c>MoveNextAsync</c> (start enumerating right away) and ends when the enumeration ends or is cancelled, so an
    /// abandoned subscription holds nothing.
    /// </summary>
    /// <param name="subscription">What to receive; <see langword="null"/> for all runs with current state and progress.</param>
    /// <param name="cancellationToken">Ends the subscription.</param>
    /// <returns>The events, in order per run, until cancelled.</returns>
    /// <exception cref="TrainingValidationException">The subscription's settings are out of range.</exception>
    IAsyncEnumerable<TrainingJobEvent> SubscribeAsync(TrainingEventSubscription? subscription = null, CancellationToken cancellationToken = default);
}
