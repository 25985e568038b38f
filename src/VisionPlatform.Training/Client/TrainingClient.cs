using System.Diagnostics.CodeAnalysis;
using VisionPlatform.Training.Routing;

namespace VisionPlatform.Training;

/// <summary>
/// What a host injects to run training jobs: starts runs on the requested executor (<c>Training:DefaultExecutor</c>
/// unless the request names another), falls back along <c>Training:Fallback:Executors</c> when that executor is
/// unavailable, and returns each run as a <see cref="TrainingOperation"/>, a long-running operation the host can persist
/// by <see cref="TrainingOperation.Id"/> and rebuild later with <see cref="GetOperation(string)"/>.
/// Registered as a singleton by <c>AddTrainingExecutors</c>. Members are virtual so that consumers can mock it.
/// </summary>
public class TrainingClient
{
    private readonly ClientCore? _core;

    /// <summary>For mocking only: a client built this way has no executors, and every member not overridden throws.</summary>
    protected TrainingClient()
    {
    }

    internal TrainingClient(ExecutorDirectory executors, ExecutorHealth health, StartRouter starts, RunRouter runs, RunCompletion completion)
    {
        _core = new ClientCore(executors, health, starts, runs, completion);
    }

    /// <summary>The registered executor names, in registration order.</summary>
    public virtual IReadOnlyList<string> ExecutorNames => Core.Executors.Names;

    /// <summary>The executor new runs go to unless a request names another (<c>Training:DefaultExecutor</c>).</summary>
    public virtual string DefaultExecutorName => Core.Executors.DefaultExecutorName;

    private ClientCore Core => _core ?? throw new InvalidOperationException("This TrainingClient was created for mocking (protected constructor); resolve TrainingClient from the service provider instead.");

    /// <summary>
    /// Starts a run on the requested executor, or on a fallback when it is unavailable. Request errors (validation,
    /// forbidden, rejected, conflict) always surface; a fallback happens only when the job fits the fallback executor.
    /// A job id never runs on two executors: see docs/resilience.md for exactly what is guaranteed.
    /// </summary>
    /// <param name="config">The job.</param>
    /// <param name="options">The executor override and the no-fallback switch; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels the call (not the run).</param>
    /// <returns>The run as an operation, with the executor used and any fallback reason.</returns>
    /// <exception cref="TrainingException">
    /// <see cref="TrainingErrorCode.UnknownExecutor"/> when the requested executor is not registered,
    /// <see cref="TrainingErrorCode.ExecutorUnavailable"/> when no executor in the chain could take the job,
    /// <see cref="TrainingErrorCode.Unschedulable"/> when the requested executor is unavailable and the job does not
    /// fit any fallback, or the executor's own error for a request error.
    /// </exception>
    public virtual async Task<TrainingOperation> StartAsync(TrainingJobConfig config, TrainingStartOptions? options = null, CancellationToken cancellationToken = default)
    {
        var started = await Core.Starts.StartAsync(config, options, cancellationToken).ConfigureAwait(false);
        return new TrainingOperation(Core, started.Run, started.RequestedExecutor, started.IsFallback, started.FallbackReason);
    }

    /// <summary>Rebuilds the operation of a run from its persisted <see cref="TrainingOperation.Id"/>.</summary>
    /// <param name="id">The id (<see cref="TrainingRun.ToString"/>).</param>
    /// <returns>The operation; its <see cref="TrainingOperation.Status"/> is unknown until <see cref="TrainingOperation.UpdateStatusAsync"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="id"/> is <see langword="null"/>.</exception>
    /// <exception cref="FormatException"><paramref name="id"/> is not a run handle.</exception>
    /// <exception cref="ArgumentException">The handle names an executor that is not registered in this host.</exception>
    public virtual TrainingOperation GetOperation(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (!TrainingRun.TryParse(id, out var run))
        {
            throw new FormatException($"The operation id (parameter '{nameof(id)}') '{id}' is not a training run handle: it must look like 'run1/<executor>/<resource-id>/<job-id>', as TrainingOperation.Id returned it.");
        }

        return GetOperationCore(run, nameof(id));
    }

    /// <summary>Rebuilds the operation of a run from its handle.</summary>
    /// <param name="run">The run's handle.</param>
    /// <returns>The operation.</returns>
    /// <exception cref="ArgumentException">The handle names an executor that is not registered in this host.</exception>
    public virtual TrainingOperation GetOperation(TrainingRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return GetOperationCore(run, nameof(run));
    }

    /// <summary>Rebuilds the operation of a run from its persisted id, without throwing.</summary>
    /// <param name="id">The id, or <see langword="null"/>.</param>
    /// <param name="operation">The operation, when the id is a handle of a registered executor.</param>
    /// <returns>Whether <paramref name="operation"/> was rebuilt.</returns>
    public virtual bool TryGetOperation(string? id, [NotNullWhen(true)] out TrainingOperation? operation)
    {
        operation = TrainingRun.TryParse(id, out var run) && Core.Executors.IsRegistered(run.ExecutorName)
            ? new TrainingOperation(Core, run)
            : null;
        return operation is not null;
    }

    /// <summary>
    /// Finds a run by job id alone: asks the executor this process started it on first, then the default, the
    /// fallbacks and the other registered executors in order.
    /// </summary>
    /// <param name="jobId">The caller's job id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The run's operation, or <see langword="null"/> when no executor has it.</returns>
    /// <exception cref="TrainingException"><see cref="TrainingErrorCode.ExecutorUnavailable"/> when the run was not found and an executor could not be asked.</exception>
    public virtual async Task<TrainingOperation?> FindAsync(string jobId, CancellationToken cancellationToken = default)
    {
        var run = await Core.Runs.FindAsync(jobId, cancellationToken).ConfigureAwait(false);
        return run is null ? null : new TrainingOperation(Core, run);
    }

    /// <summary>Lists the runs of every registered executor that match the query.</summary>
    /// <param name="query">Filters by labels and phase; <see langword="null"/> for all.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The statuses.</returns>
    public virtual Task<IReadOnlyList<TrainingRunStatus>> ListAsync(TrainingRunQuery? query = null, CancellationToken cancellationToken = default) =>
        Core.Runs.ListAsync(query, cancellationToken);

    /// <summary>
    /// Whether an executor can take new runs now: its cached probe (refreshed when older than
    /// <c>Training:Availability:RefreshInterval</c>) and its circuit breaker.
    /// </summary>
    /// <param name="executorName">The executor.</param>
    /// <param name="cancellationToken">Stops waiting for a probe.</param>
    /// <returns>The availability with its reason.</returns>
    /// <exception cref="TrainingException"><see cref="TrainingErrorCode.UnknownExecutor"/> when no executor has that name.</exception>
    public virtual Task<ExecutorAvailability> GetAvailabilityAsync(string executorName, CancellationToken cancellationToken = default) =>
        Core.Health.GetAvailabilityAsync(executorName, cancellationToken);

    private TrainingOperation GetOperationCore(TrainingRun run, string parameterName)
    {
        if (!Core.Executors.IsRegistered(run.ExecutorName))
        {
            throw new ArgumentException(
                $"The run handle names the executor '{run.ExecutorName}', which is not registered in this host (registered: {string.Join(", ", Core.Executors.Names)}).",
                parameterName);
        }

        return new TrainingOperation(Core, run);
    }
}

/// <summary>The routing parts a client and its operations share.</summary>
internal sealed record ClientCore(ExecutorDirectory Executors, ExecutorHealth Health, StartRouter Starts, RunRouter Runs, RunCompletion Completion);
