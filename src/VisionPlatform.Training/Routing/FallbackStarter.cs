using Microsoft.Extensions.Logging;
using VisionPlatform.Training.Diagnostics;

namespace VisionPlatform.Training.Routing;

/// <summary>
/// Step 3 of a routed start: the requested executor refused, so the job goes to the first fallback in
/// <c>Training:Fallback:Executors</c> that is registered, fits the job (<see cref="ITrainingExecutorPlacement"/>), is
/// available and takes it. A fallback is published as a <see cref="TrainingFallbackEvent"/> and counted.
/// </summary>
internal sealed class FallbackStarter(
    ExecutorDirectory executors,
    ExecutorHealth health,
    RunPlacementJournal journal,
    StartFailures failures,
    AmbiguousStartResolver resolver,
    TrainingMetrics metrics,
    TrainingEventHub events,
    ILogger logger)
{
    public async Task<RoutedStart> StartAsync(TrainingJobConfig config, string requested, bool noFallback, StartRefusal refusal, CancellationToken cancellationToken)
    {
        var jobId = config.JobId;
        var fallbacks = executors.FallbacksFor(requested, noFallback);
        if (fallbacks.Count == 0)
        {
            var why = noFallback
                ? "The request disabled fallback (TrainingStartOptions.NoFallback)."
                : !executors.Options.Fallback.Enabled
                    ? "Fallback is disabled (Training:Fallback:Enabled is false)."
                    : "No fallback executor is configured (Training:Fallback:Executors).";
            throw failures.Fail(TrainingErrorCode.ExecutorUnavailable, config, requested, refusal.ReasonKind, $"Executor '{requested}' cannot start job '{jobId}': {refusal.Reason.TrimEnd('.')}. {why}", refusal.Cause);
        }

        var refusals = new List<string>();
        var doesNotFit = false;
        foreach (var name in fallbacks)
        {
            var (run, problem, misfit) = await TryAsync(config, name, cancellationToken).ConfigureAwait(false);
            doesNotFit |= misfit;
            if (run is null)
            {
                refusals.Add(problem!);
                continue;
            }

            var fallbackReason = $"'{requested}' is unavailable: {refusal.Reason}";
            journal.Started(jobId, run.ExecutorName);
            RoutingLog.FellBack(logger, jobId, requested, run.ExecutorName, fallbackReason);
            metrics.FellBack(requested, run.ExecutorName, refusal.ReasonKind);
            events.PublishFallback(run, requested, fallbackReason);
            return new RoutedStart(run, requested, IsFallback: true, FallbackReason: fallbackReason);
        }

        throw failures.Fail(
            doesNotFit ? TrainingErrorCode.Unschedulable : TrainingErrorCode.ExecutorUnavailable,
            config,
            requested,
            doesNotFit ? "does_not_fit" : refusal.ReasonKind,
            $"Job '{jobId}' cannot start: executor '{requested}' is unavailable ({refusal.Reason}) and {string.Join("; ", refusals)}.",
            refusal.Cause);
    }

    /// <summary>One fallback: the run, or why it did not take the job (and whether because the job does not fit).</summary>
    private async Task<(TrainingRun? Run, string? Problem, bool DoesNotFit)> TryAsync(TrainingJobConfig config, string name, CancellationToken cancellationToken)
    {
        if (!executors.IsRegistered(name))
        {
            return (null, $"fallback '{name}' is not registered", false);
        }

        var executor = executors.Get(name);
        if (executor is ITrainingExecutorPlacement placement && placement.CheckPlacement(config) is { Fits: false } misfit)
        {
            return (null, $"the job does not fit fallback '{name}': {misfit.Reason}", true);
        }

        var availability = await health.GetAvailabilityAsync(name, cancellationToken).ConfigureAwait(false);
        if (!availability.IsAvailable)
        {
            return (null, $"fallback '{name}' is unavailable too: {availability.Reason}", false);
        }

        try
        {
            return (await health.StartThroughBreakerAsync(executor, config, cancellationToken).ConfigureAwait(false), null, false);
        }
        catch (TrainingException e) when (e.Code == TrainingErrorCode.Unschedulable)
        {
            return (null, $"the job does not fit fallback '{name}': {e.Message}", true);
        }
        catch (Exception e) when (ExecutorFailureClassifier.Classify(e, cancellationToken) is var kind && kind != ExecutorFailureKind.RequestError)
        {
            var existing = kind switch
            {
                ExecutorFailureKind.OutcomeUnknown => await resolver.RepeatStartAsync(executor, config, e, cancellationToken).ConfigureAwait(false),
                ExecutorFailureKind.Answered => await resolver.VerifyAbsentAsync(executor, config, e, cancellationToken).ConfigureAwait(false),
                _ => null,
            };
            return existing is null ? (null, $"fallback '{name}' failed: {ExecutorFailureClassifier.Describe(e)}", false) : (existing, null, false);
        }
    }
}
