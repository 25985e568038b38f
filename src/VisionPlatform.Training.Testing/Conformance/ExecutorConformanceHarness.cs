namespace VisionPlatform.Training.Testing;

/// <summary>
/// What an executor author provides to run <see cref="ExecutorConformanceSuite"/> against an executor: the executor,
/// the event source it publishes to, jobs whose trainer behaves as a case asks, and the capabilities it has.
/// Create one harness per case (each case starts runs with fixed job ids) and dispose it afterwards.
/// </summary>
/// <remarks>
/// The cases use only the public API: <see cref="ITrainingExecutor"/> and <see cref="ITrainingEventSource.SubscribeAsync"/>.
/// Waits are bounded by <see cref="Timeout"/> in real time (<see cref="TimeProvider.System"/>), whatever clock the executor uses.
/// </remarks>
public abstract class ExecutorConformanceHarness : IAsyncDisposable
{
    /// <summary>The executor under test.</summary>
    public abstract ITrainingExecutor Executor { get; }

    /// <summary>The event source the executor publishes its runs' phases and progress to.</summary>
    public abstract ITrainingEventSource Events { get; }

    /// <summary>
    /// What this executor can do beyond the cases every executor passes (default <see cref="ExecutorConformanceCapabilities.None"/>).
    /// Override it with the capabilities whose members you implement.
    /// </summary>
    public virtual ExecutorConformanceCapabilities Capabilities => ExecutorConformanceCapabilities.None;

    /// <summary>How long a case waits for the executor at most for any one thing (default 60 seconds; real trainers on a loaded machine are slow).</summary>
    public virtual TimeSpan Timeout => TimeSpan.FromSeconds(60);

    /// <summary>
    /// Creates a valid job for this executor whose trainer does what <paramref name="request"/> says, with its job id,
    /// labels and project id. Equal requests must give equal configs (same <see cref="TrainingJobConfig.ConfigHash"/>).
    /// </summary>
    /// <param name="request">The job id, labels, project and behaviour.</param>
    /// <returns>The job.</returns>
    public abstract TrainingJobConfig CreateJob(ConformanceJobRequest request);

    /// <summary>
    /// A job the executor must refuse with a <see cref="TrainingValidationException"/> before starting anything, and the field
    /// the exception must name. Needed for <see cref="ExecutorConformanceCapabilities.RejectsJobs"/>.
    /// </summary>
    /// <param name="jobId">The job id the config must carry.</param>
    /// <returns>The job and the field; the default throws <see cref="NotSupportedException"/>.</returns>
    public virtual ConformanceRejectedJob CreateRejectedJob(string jobId) =>
        throw new NotSupportedException($"{GetType().Name} does not override CreateRejectedJob; do not declare ExecutorConformanceCapabilities.RejectsJobs.");

    /// <summary>
    /// Ends the record of a finished run as the executor's retention would (a Kubernetes Job's TTL, a run directory
    /// removed by retention, an in-memory retention period passing), so its job id is free again. Needed for
    /// <see cref="ExecutorConformanceCapabilities.ExpireRecords"/>.
    /// </summary>
    /// <param name="run">A terminal run.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the record is gone.</returns>
    public virtual Task ExpireRunAsync(TrainingRun run, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException($"{GetType().Name} does not override ExpireRunAsync; do not declare ExecutorConformanceCapabilities.ExpireRecords.");

    /// <summary>Disposes the harness: stop every run it left running and release the executor.</summary>
    /// <returns>A task that completes when everything is released.</returns>
    public async ValueTask DisposeAsync()
    {
        await DisposeAsyncCore().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the executor and whatever the harness created (stop the runs it left running, delete temporary files).</summary>
    /// <returns>A task that completes when everything is released.</returns>
    protected abstract ValueTask DisposeAsyncCore();
}
