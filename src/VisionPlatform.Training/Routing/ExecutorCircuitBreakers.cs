using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;

namespace VisionPlatform.Training.Routing;

/// <summary>
/// One Polly circuit breaker per executor, in front of its starts. Only infrastructure failures count
/// (<see cref="ExecutorFailureClassifier"/>); while a breaker is open the executor is treated as unavailable and
/// starts go to the fallback without calling it. After the break one trial start is let through.
/// </summary>
internal sealed class ExecutorCircuitBreakers(TimeProvider time, Func<ExecutorCircuitBreakerOptions> options, ILogger logger)
{
    private readonly ConcurrentDictionary<string, Lazy<Breaker>> _breakers = new(StringComparer.OrdinalIgnoreCase);

    public ResiliencePipeline Pipeline(string executorName) => Get(executorName).Pipeline;

    /// <summary>
    /// Whether the breaker currently refuses starts. Polly moves an open circuit to half-open only when the next call
    /// arrives, so an open circuit whose break has elapsed counts as letting a trial through.
    /// </summary>
    public bool IsBlocking(string executorName)
    {
        if (!_breakers.TryGetValue(executorName, out var lazy) || !lazy.IsValueCreated)
        {
            return false;
        }

        var breaker = lazy.Value;
        return breaker.State.CircuitState switch
        {
            CircuitState.Isolated => true,
            CircuitState.Open => time.GetUtcNow() < breaker.OpenUntil,
            _ => false,
        };
    }

    private Breaker Get(string executorName) =>
        _breakers.GetOrAdd(executorName, name => new Lazy<Breaker>(() => Create(name))).Value;

    private Breaker Create(string name)
    {
        var o = options();
        var state = new CircuitBreakerStateProvider();
        Breaker? breaker = null;
        var pipeline = new ResiliencePipelineBuilder { Name = $"training-executor-{name}", TimeProvider = time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = o.FailureRatio,
                MinimumThroughput = o.MinimumThroughput,
                SamplingDuration = o.SamplingDuration,
                BreakDuration = o.BreakDuration,
                StateProvider = state,
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Exception is { } e &&
                    ExecutorFailureClassifier.Classify(e, args.Context.CancellationToken) != ExecutorFailureKind.RequestError),
                OnOpened = args =>
                {
                    breaker!.OpenUntil = time.GetUtcNow() + args.BreakDuration;
                    RoutingLog.CircuitOpened(logger, name, args.BreakDuration, args.Outcome.Exception is { } e ? ExecutorFailureClassifier.Describe(e) : "unknown");
                    return ValueTask.CompletedTask;
                },
                OnHalfOpened = _ =>
                {
                    RoutingLog.CircuitHalfOpened(logger, name);
                    return ValueTask.CompletedTask;
                },
                OnClosed = _ =>
                {
                    RoutingLog.CircuitClosed(logger, name);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
        breaker = new Breaker(pipeline, state);
        return breaker;
    }

    private sealed class Breaker(ResiliencePipeline pipeline, CircuitBreakerStateProvider state)
    {
        public ResiliencePipeline Pipeline { get; } = pipeline;

        public CircuitBreakerStateProvider State { get; } = state;

        public DateTimeOffset OpenUntil { get; set; }
    }
}
