using VisionPlatform.Training.Diagnostics;

namespace VisionPlatform.Training.Routing;

/// <summary>
/// Sends every call about an existing run to the executor named in its handle (so runs keep working after the default
/// changes), and answers list and find across every registered executor.
/// </summary>
internal sealed class RunRouter(ExecutorDirectory executors, RunPlacementJournal journal)
{
    public Task<TrainingRunStatus> GetStatusAsync(TrainingRun run, CancellationToken cancellationToken) =>
        executors.For(run).GetStatusAsync(run, cancellationToken);

    public IAsyncEnumerable<TrainingRunStatus> WatchAsync(TrainingRun run, CancellationToken cancellationToken) =>
        executors.For(run).WatchAsync(run, cancellationToken);

    public IAsyncEnumerable<TrainingLogLine> GetLogsAsync(TrainingRun run, TrainingLogOptions? options, CancellationToken cancellationToken) =>
        executors.For(run).GetLogsAsync(run, options, cancellationToken);

    public async Task<TrainingRunStatus> StopAsync(TrainingRun run, TrainingStopOptions? options, CancellationToken cancellationToken)
    {
        var executor = executors.For(run);
        using var activity = TrainingActivities.StartStop(run);
        try
        {
            var status = await executor.StopAsync(run, options, cancellationToken).ConfigureAwait(false);
            TrainingActivities.Stopped(activity, status);
            return status;
        }
        catch (Exception e) when (TrainingActivities.Failed(activity, e))
        {
            throw;
        }
    }

    public async Task<IReadOnlyList<TrainingRunStatus>> ListAsync(TrainingRunQuery? query, CancellationToken cancellationToken)
    {
        var all = new List<TrainingRunStatus>();
        foreach (var name in executors.Names)
        {
            all.AddRange(await executors.Get(name).ListAsync(query, cancellationToken).ConfigureAwait(false));
        }

        return all;
    }

    /// <summary>
    /// Finds a run by job id alone: asks the executor this process started it on first, then the default, the
    /// fallbacks and the other registered executors in order. An executor that cannot be asked does not hide a run:
    /// when none of the others has it, the call fails naming that executor.
    /// </summary>
    public async Task<TrainingRun?> FindAsync(string jobId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        var order = new List<string>();
        if (journal.TryGet(jobId, out var placement))
        {
            order.Add(placement.ExecutorName);
        }

        order.AddRange(executors.DefaultChain.Where(executors.IsRegistered));
        order.AddRange(executors.Names);
        var failures = new List<string>();
        foreach (var name in order.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            try
            {
                var run = await executors.Get(name).FindAsync(jobId, cancellationToken).ConfigureAwait(false);
                if (run is not null)
                {
                    return run;
                }
            }
            catch (Exception e) when (ExecutorFailureClassifier.Classify(e, cancellationToken) != ExecutorFailureKind.RequestError)
            {
                failures.Add($"'{name}': {ExecutorFailureClassifier.Describe(e)}");
            }
        }

        return failures.Count == 0
            ? null
            : throw new TrainingException(
                TrainingErrorCode.ExecutorUnavailable,
                $"Job '{jobId}' was not found, but these executors could not be asked and may have it: {string.Join("; ", failures)}.")
            { JobId = jobId };
    }
}
