using Microsoft.Extensions.Logging;

namespace VisionPlatform.Training.Routing;

/// <summary>
/// Settles a start whose outcome the executor could not tell, before routing may move the job:
/// <list type="bullet">
/// <item><description><see cref="TrainingErrorCode.ExecutorFailure"/>: the executor answered, so a lookup is
/// authoritative (<see cref="VerifyAbsentAsync"/>).</description></item>
/// <item><description><see cref="TrainingErrorCode.OutcomeUnknown"/>: a write went unanswered and may still be applied, so
/// "not found" proves nothing; only an idempotent repeat of the start on the same executor settles it
/// (<see cref="RepeatStartAsync"/>), and the job never moves.</description></item>
/// </list>
/// </summary>
internal sealed class AmbiguousStartResolver(ExecutorDirectory executors, RunPlacementJournal journal, StartFailures failures, TimeProvider time, ILogger logger)
{
    private TimeSpan VerifyTimeout => executors.Options.Fallback.VerifyTimeout;

    /// <summary>The run when the repeated start finds or creates it; otherwise throws and binds the job id to the executor.</summary>
    public async Task<TrainingRun> RepeatStartAsync(ITrainingExecutor executor, TrainingJobConfig config, Exception failure, CancellationToken cancellationToken)
    {
        var jobId = config.JobId;
        var timeout = VerifyTimeout;
        using var deadline = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        string again;
        try
        {
            var run = await executor.StartAsync(config, linked.Token).ConfigureAwait(false);
            RoutingLog.AmbiguousStartFound(logger, jobId, executor.Name);
            return run;
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            again = $"no answer within {timeout} (Training:Fallback:VerifyTimeout)";
        }
        catch (Exception e) when (ExecutorFailureClassifier.Classify(e, cancellationToken) != ExecutorFailureKind.RequestError)
        {
            again = ExecutorFailureClassifier.Describe(e);
        }

        journal.MaybeStarted(jobId, executor.Name);
        RoutingLog.AmbiguousStartUnresolved(logger, jobId, executor.Name, again);
        throw failures.Fail(
            TrainingErrorCode.ExecutorUnavailable,
            config,
            executor.Name,
            "unresolved",
            $"Starting job '{jobId}' on '{executor.Name}' sent a request that was never answered ({ExecutorFailureClassifier.Describe(failure)}); the server may still create the run, and repeating the start did not settle it ({again}). The job stays with '{executor.Name}' and is not moved to another executor, so it cannot run twice; start it again later.",
            failure);
    }

    /// <summary>
    /// The run when it exists on the executor after all, <see langword="null"/> when the executor confirms it does not;
    /// throws when it cannot confirm either within <c>Training:Fallback:VerifyTimeout</c> (the job id is then
    /// remembered as maybe-started there).
    /// </summary>
    public async Task<TrainingRun?> VerifyAbsentAsync(ITrainingExecutor executor, TrainingJobConfig config, Exception failure, CancellationToken cancellationToken)
    {
        var jobId = config.JobId;
        var found = await LookUpAsync(executor, jobId, cancellationToken).ConfigureAwait(false);
        if (found.Failure is { } lookupFailure)
        {
            journal.MaybeStarted(jobId, executor.Name);
            RoutingLog.AmbiguousStartUnresolved(logger, jobId, executor.Name, lookupFailure);
            throw failures.Fail(
                TrainingErrorCode.ExecutorUnavailable,
                config,
                executor.Name,
                "unresolved",
                $"Starting job '{jobId}' on '{executor.Name}' failed after the request may have reached it ({ExecutorFailureClassifier.Describe(failure)}), and '{executor.Name}' could not confirm within {VerifyTimeout} whether the run was created ({lookupFailure}). The job was not moved to another executor, so it cannot run twice; start it again later.",
                failure);
        }

        if (found.Run is null)
        {
            return null;
        }

        RoutingLog.AmbiguousStartFound(logger, jobId, executor.Name);

        // The run exists: a repeated start is idempotent and tells a conflicting config apart from ours.
        try
        {
            return await executor.StartAsync(config, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (ExecutorFailureClassifier.Classify(e, cancellationToken) != ExecutorFailureKind.RequestError)
        {
            return found.Run;
        }
    }

    /// <summary>Asks an executor for a job within <c>Training:Fallback:VerifyTimeout</c>: the run, or why it could not answer.</summary>
    public async Task<(TrainingRun? Run, string? Failure)> LookUpAsync(ITrainingExecutor executor, string jobId, CancellationToken cancellationToken)
    {
        var timeout = VerifyTimeout;
        using var deadline = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            var run = await executor.FindAsync(jobId, linked.Token).WaitAsync(timeout, time, cancellationToken).ConfigureAwait(false);
            return (run, null);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is not TrainingValidationException)
        {
            var message = e is OperationCanceledException or TimeoutException
                ? $"no answer within {timeout} (Training:Fallback:VerifyTimeout)"
                : ExecutorFailureClassifier.Describe(e);
            RoutingLog.LookupFailed(logger, jobId, executor.Name, message);
            return (null, message);
        }
    }
}
