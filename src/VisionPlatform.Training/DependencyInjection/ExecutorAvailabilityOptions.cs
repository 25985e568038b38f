namespace VisionPlatform.Training;

/// <summary>
/// How routing decides whether an executor can take work (<c>Training:Availability</c>): a cached, cheap probe
/// (<see cref="ITrainingExecutor.CheckAvailabilityAsync"/>), refreshed in the background, combined with a circuit
/// breaker per executor fed by real start failures.
/// </summary>
public sealed class ExecutorAvailabilityOptions
{
    /// <summary>How long a probe result is trusted before the next start probes again (default 15 s).</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long one probe may take before the executor counts as unavailable (default 5 s).</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Whether a hosted service refreshes probes every <see cref="RefreshInterval"/>, so starts rarely wait for one (default <see langword="true"/>; needs a host).</summary>
    public bool BackgroundRefresh { get; set; } = true;

    /// <summary>The circuit breaker each executor's starts go through.</summary>
    public ExecutorCircuitBreakerOptions CircuitBreaker { get; set; } = new();
}

/// <summary>
/// The circuit breaker in front of each executor's starts (<c>Training:Availability:CircuitBreaker</c>). Only
/// infrastructure failures count (unreachable, timeouts, 5xx after retries); request errors such as 403 or 422 do not.
/// </summary>
public sealed class ExecutorCircuitBreakerOptions
{
    /// <summary>The share of failed starts in <see cref="SamplingDuration"/> that opens the circuit (default 0.5; greater than 0, at most 1).</summary>
    public double FailureRatio { get; set; } = 0.5;

    /// <summary>How many starts must be seen in <see cref="SamplingDuration"/> before the ratio counts (default 4; at least 2).</summary>
    public int MinimumThroughput { get; set; } = 4;

    /// <summary>The window failures are counted over (default 30 s; at least 500 ms).</summary>
    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the circuit stays open before one trial start is let through (default 30 s; at least 500 ms).</summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(30);
}
