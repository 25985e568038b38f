using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace VisionPlatform.Training.Routing;

/// <summary>Whether executors can take new runs: the cached availability probe and the per-executor circuit breaker.</summary>
internal sealed class ExecutorHealth
{
    private readonly ExecutorDirectory _executors;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ExecutorAvailabilityCache _availability;
    private readonly ExecutorCircuitBreakers _breakers;

    public ExecutorHealth(ExecutorDirectory executors, TimeProvider time, ILogger<ExecutorHealth>? logger = null)
    {
        _executors = executors;
        _time = time;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _availability = new ExecutorAvailabilityCache(time, () => executors.Options.Availability, _logger);
        _breakers = new ExecutorCircuitBreakers(time, () => executors.Options.Availability.CircuitBreaker, _logger);
    }

    public bool IsBlocking(string executorName) => _breakers.IsBlocking(executorName);

    public Task<ExecutorAvailability> GetAvailabilityAsync(string executorName, CancellationToken cancellationToken)
    {
        var name = _executors.Resolve(executorName);
        return _breakers.IsBlocking(name)
            ? Task.FromResult(ExecutorAvailability.Unavailable(
                "the circuit breaker is open after repeated start failures (Training:Availability:CircuitBreaker)", _time.GetUtcNow()))
            : _availability.GetAsync(_executors.Get(name), cancellationToken);
    }

    public void ReportUnavailable(string executorName, string reason) => _availability.ReportUnavailable(executorName, reason);

    /// <summary>Starts through the executor's circuit breaker, so repeated infrastructure failures open it.</summary>
    public Task<TrainingRun> StartThroughBreakerAsync(ITrainingExecutor executor, TrainingJobConfig config, CancellationToken cancellationToken) =>
        _breakers.Pipeline(executor.Name)
            .ExecuteAsync(static async (state, ct) => await state.executor.StartAsync(state.config, ct).ConfigureAwait(false), (executor, config), cancellationToken)
            .AsTask();

    /// <summary>Probes every registered executor now (used by the background refresher).</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        foreach (var name in _executors.Names)
        {
            try
            {
                await _availability.RefreshAsync(_executors.Get(name), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                RoutingLog.AvailabilityRefreshFailed(_logger, name, e);
            }
        }
    }
}
