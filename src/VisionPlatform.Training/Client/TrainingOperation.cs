using System.Runtime.CompilerServices;

namespace VisionPlatform.Training;

/// <summary>
/// A training run as a long-running operation, in the manner of the Azure SDK: persist <see cref="Id"/>, rebuild the
/// operation later with <see cref="TrainingClient.GetOperation(string)"/> (on this or another host process), refresh it
/// with <see cref="UpdateStatusAsync"/>, or wait with <see cref="WaitForCompletionAsync(CancellationToken)"/>. Every call
/// goes to the executor that runs it, even after <c>Training:DefaultExecutor</c> changes. Members are virtual so that
/// consumers can mock it.
/// </summary>
public class TrainingOperation
{
    private readonly ClientCore? _core;
    private readonly TrainingRun? _run;
    private volatile TrainingRunStatus? _status;

    /// <summary>For mocking only: every member not overridden throws.</summary>
    protected TrainingOperation()
    {
    }

    internal TrainingOperation(ClientCore core, TrainingRun run, string? requestedExecutor = null, bool isFallback = false, string? fallbackReason = null)
    {
        _core = core;
        _run = run;
        RequestedExecutor = requestedExecutor ?? run.ExecutorName;
        IsFallback = isFallback;
        FallbackReason = fallbackReason;
    }

    /// <summary>The persistable id: the run handle's <see cref="TrainingRun.ToString"/>.</summary>
    public virtual string Id => Run.ToString();

    /// <summary>The run's handle.</summary>
    public virtual TrainingRun Run => _run ?? throw Mocked();

    /// <summary>The caller's job id.</summary>
    public virtual string JobId => Run.JobId;

    /// <summary>The executor that runs the job.</summary>
    public virtual string ExecutorName => Run.ExecutorName;

    /// <summary>
    /// The executor the start asked for (the request's override or <c>Training:DefaultExecutor</c>). For an operation
    /// rebuilt from its id this is <see cref="ExecutorName"/>: where it was requested is not part of the id.
    /// </summary>
    public virtual string RequestedExecutor { get; } = string.Empty;

    /// <summary>Whether the job runs on a fallback executor because the requested one was unavailable (known only on the operation the start returned).</summary>
    public virtual bool IsFallback { get; }

    /// <summary>
    /// Why the job does not run on <see cref="RequestedExecutor"/>: the fallback reason, or that an earlier start of the
    /// same job id already runs on <see cref="ExecutorName"/>. <see langword="null"/> when it runs where requested, or
    /// for an operation rebuilt from its id.
    /// </summary>
    public virtual string? FallbackReason { get; }

    /// <summary>The last status this operation observed, or <see langword="null"/> before the first read.</summary>
    public virtual TrainingRunStatus? Status => _status;

    /// <summary>Whether the last observed status is terminal (succeeded, failed, stopped, lost or not found).</summary>
    public virtual bool HasCompleted => _status?.IsTerminal == true;

    private ClientCore Core => _core ?? throw Mocked();

    /// <summary>Reads the run's current status from its executor and remembers it in <see cref="Status"/>.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The status.</returns>
    public virtual async Task<TrainingRunStatus> UpdateStatusAsync(CancellationToken cancellationToken = default) =>
        Observe(await Core.Runs.GetStatusAsync(Run, cancellationToken).ConfigureAwait(false));

    /// <summary>Waits until the run is terminal, driven by the executors' events, and returns its final status (with cost).</summary>
    /// <param name="cancellationToken">Cancels the wait (not the run).</param>
    /// <returns>The terminal status.</returns>
    public virtual Task<TrainingRunStatus> WaitForCompletionAsync(CancellationToken cancellationToken = default) =>
        WaitForCompletionAsync(Timeout.InfiniteTimeSpan, cancellationToken);

    /// <summary>Waits until the run is terminal or the timeout (on the host's <see cref="TimeProvider"/>) passes.</summary>
    /// <param name="timeout">How long to wait; <see cref="Timeout.InfiniteTimeSpan"/> for no limit.</param>
    /// <param name="cancellationToken">Cancels the wait (not the run).</param>
    /// <returns>The terminal status.</returns>
    /// <exception cref="TimeoutException">The run was not terminal within <paramref name="timeout"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is zero or negative (other than infinite).</exception>
    public virtual async Task<TrainingRunStatus> WaitForCompletionAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (_status is { IsTerminal: true } done)
        {
            return done;
        }

        return Observe(await Core.Completion.WaitAsync(Run, timeout, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>
    /// Streams the run's current status and then each change until it is terminal; each one updates <see cref="Status"/>.
    /// A status is yielded only when it changed (<see cref="TrainingRunStatus.IsChangeFrom"/>: phase, reason, message,
    /// exit code or attempt), whatever the executor sends; progress alone is not a change (subscribe to
    /// <see cref="TrainingProgressEvent"/> through <see cref="ITrainingEventSource"/> for progress).
    /// </summary>
    /// <param name="cancellationToken">Ends the stream.</param>
    /// <returns>The statuses.</returns>
    public virtual async IAsyncEnumerable<TrainingRunStatus> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        TrainingRunStatus? last = null;
        await foreach (var status in Core.Runs.WatchAsync(Run, cancellationToken).ConfigureAwait(false))
        {
            if (status.IsChangeFrom(last))
            {
                last = status;
                yield return Observe(status);
            }
        }
    }

    /// <summary>Reads (or follows) the run's log.</summary>
    /// <param name="options">Tail, follow and attempt choices; <see langword="null"/> for the whole log of the current attempt.</param>
    /// <param name="cancellationToken">Ends the read.</param>
    /// <returns>The log lines.</returns>
    public virtual IAsyncEnumerable<TrainingLogLine> GetLogsAsync(TrainingLogOptions? options = null, CancellationToken cancellationToken = default) =>
        Core.Runs.GetLogsAsync(Run, options, cancellationToken);

    /// <summary>Stops the run (gracefully, then forcibly after the grace period) and returns its status.</summary>
    /// <param name="options">The grace period and reason; <see langword="null"/> for the executor's defaults.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The status after the stop.</returns>
    public virtual async Task<TrainingRunStatus> StopAsync(TrainingStopOptions? options = null, CancellationToken cancellationToken = default) =>
        Observe(await Core.Runs.StopAsync(Run, options, cancellationToken).ConfigureAwait(false));

    /// <summary>The id.</summary>
    /// <returns><see cref="Id"/>.</returns>
    public override string ToString() => _run?.ToString() ?? base.ToString()!;

    private static InvalidOperationException Mocked() =>
        new("This TrainingOperation was created for mocking (protected constructor); get operations from TrainingClient instead.");

    private TrainingRunStatus Observe(TrainingRunStatus status)
    {
        _status = status;
        return status;
    }
}
