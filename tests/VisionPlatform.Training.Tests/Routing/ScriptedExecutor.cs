using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace VisionPlatform.Training.Tests.Routing;

/// <summary>
/// A scriptable executor for the manager's unit tests: keeps runs in memory with the executors' idempotency contract
/// (same job id and config returns the run, a different config conflicts) and fails on demand.
/// </summary>
internal class ScriptedExecutor(string name) : ITrainingExecutor
{
    private readonly ConcurrentDictionary<string, (TrainingRun Run, string Hash)> _runs = new(StringComparer.Ordinal);
    private int _startCalls;
    private int _probeCalls;
    private int _findCalls;

    public string Name { get; } = name;

    /// <summary>Decides each start: return an exception to fail it, or null to accept it.</summary>
    public Func<TrainingJobConfig, Exception?> StartFailure { get; set; } = _ => null;

    /// <summary>Fails start after creating the run (an ambiguous failure whose create did reach the executor).</summary>
    public Func<TrainingJobConfig, Exception?> FailAfterCreate { get; set; } = _ => null;

    public Func<Exception?> FindFailure { get; set; } = () => null;

    public ExecutorAvailability? Availability { get; set; }

    public Exception? ProbeFailure { get; set; }

    public int StartCalls => Volatile.Read(ref _startCalls);

    public int ProbeCalls => Volatile.Read(ref _probeCalls);

    public int FindCalls => Volatile.Read(ref _findCalls);

    public IReadOnlyCollection<string> JobIds => _runs.Keys.ToArray();

    public List<string> StatusRequests { get; } = [];

    public async Task<TrainingRun> StartAsync(TrainingJobConfig config, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _startCalls);
        await Task.Yield();
        if (StartFailure(config) is { } e)
        {
            throw e;
        }

        var entry = _runs.GetOrAdd(config.JobId, id => (new TrainingRun(Name, id, $"{Name}/{id}"), config.ConfigHash));
        if (entry.Hash != config.ConfigHash)
        {
            throw new TrainingException(TrainingErrorCode.JobConflict, $"job {config.JobId} exists with another config") { ExecutorName = Name };
        }

        if (FailAfterCreate(config) is { } late)
        {
            throw late;
        }

        return entry.Run;
    }

    public Task<TrainingRunStatus> GetStatusAsync(TrainingRun run, CancellationToken cancellationToken = default)
    {
        lock (StatusRequests)
        {
            StatusRequests.Add(run.JobId);
        }

        return Task.FromResult(new TrainingRunStatus
        {
            Run = run,
            Phase = _runs.ContainsKey(run.JobId) ? TrainingPhase.Running : TrainingPhase.NotFound,
            Reason = "Scripted",
        });
    }

    /// <summary>What <see cref="WatchAsync"/> yields for a run; <see langword="null"/> for its current status only.</summary>
    public Func<TrainingRun, IEnumerable<TrainingRunStatus>>? WatchScript { get; set; }

    public async IAsyncEnumerable<TrainingRunStatus> WatchAsync(TrainingRun run, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (WatchScript is { } script)
        {
            foreach (var status in script(run))
            {
                await Task.Yield();
                yield return status;
            }

            yield break;
        }

        yield return await GetStatusAsync(run, cancellationToken);
    }

    public async IAsyncEnumerable<TrainingLogLine> GetLogsAsync(TrainingRun run, TrainingLogOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        yield break;
    }

    public async Task<TrainingRunStatus> StopAsync(TrainingRun run, TrainingStopOptions? options = null, CancellationToken cancellationToken = default) =>
        (await GetStatusAsync(run, cancellationToken)) with { Phase = TrainingPhase.Stopped };

    public Task<IReadOnlyList<TrainingRunStatus>> ListAsync(TrainingRunQuery? query = null, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<TrainingRunStatus>>(
            _runs.Values.Select(r => new TrainingRunStatus { Run = r.Run, Phase = TrainingPhase.Running, Reason = "Scripted" }).ToList());

    public Task<TrainingRun?> FindAsync(string jobId, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _findCalls);
        if (FindFailure() is { } e)
        {
            return Task.FromException<TrainingRun?>(e);
        }

        return Task.FromResult(_runs.TryGetValue(jobId, out var r) ? r.Run : null);
    }

    public Task<ExecutorAvailability> CheckAvailabilityAsync(CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _probeCalls);
        return ProbeFailure is { } e
            ? Task.FromException<ExecutorAvailability>(e)
            : Task.FromResult(Availability ?? ExecutorAvailability.Available(DateTimeOffset.UnixEpoch));
    }

    /// <summary>What an executor throws when its backend cannot be reached: <see cref="TrainingErrorCode.ExecutorUnavailable"/>.</summary>
    public static TrainingException ConnectionRefusedError() =>
        new(TrainingErrorCode.ExecutorUnavailable, "The backend cannot be reached: Connection refused (127.0.0.1:1)", new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused (127.0.0.1:1)"));

    /// <summary>What an executor throws when its backend answered with a failure after it may have applied the write: <see cref="TrainingErrorCode.ExecutorFailure"/>.</summary>
    public static TrainingException AnsweredFailure(string message) => new(TrainingErrorCode.ExecutorFailure, message);

    /// <summary>What an executor throws when a write went unanswered: <see cref="TrainingErrorCode.OutcomeUnknown"/>.</summary>
    public static TrainingException OutcomeUnknownError() =>
        new(TrainingErrorCode.OutcomeUnknown, "The create was sent but never answered; it may still be applied.", new TimeoutException("no answer within 10 s"));
}

/// <summary>An executor that knows how many GPUs it has, like the subprocess executor.</summary>
internal sealed class GpuHostExecutor(string name, int gpus) : ScriptedExecutor(name), ITrainingExecutorPlacement
{
    public TrainingPlacement CheckPlacement(TrainingJobConfig config) =>
        config.Resources.Gpus <= gpus
            ? TrainingPlacement.Fit
            : TrainingPlacement.DoesNotFit($"the job requests {config.Resources.Gpus} GPU(s) but this host has {gpus} (Training:Subprocess:Gpus)");
}
