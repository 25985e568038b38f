namespace VisionPlatform.Training.Samples.RemoteExecutor;

/// <summary>
/// Options of the remote executor, bound from the section given to <c>AddRemoteExecutor</c> (for example
/// <c>Training:Remote</c>) and validated at start-up; each problem names its key.
/// </summary>
public sealed class RemoteExecutorOptions
{
    /// <summary>The training service's base URL, for example <c>http://trainer.internal:8080/</c> (required, http or https).</summary>
    public Uri? ServiceUrl { get; set; }

    /// <summary>How long one request may take before it counts as unanswered (default 10 s).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the availability probe (<c>GET /v1/health</c>) may take (default 3 s).</summary>
    public TimeSpan AvailabilityTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How often the executor asks the service what changed, and reads followed logs (default 1 s).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Retries of a read that got no answer or a 502/503/504 (default 2; writes are never retried here: routing repeats a start whose outcome is unknown).</summary>
    public int MaxReadRetries { get; set; } = 2;

    /// <summary>The most GPUs one job may ask for on this service (default 8); a job asking for more does not fit it.</summary>
    public int MaxGpusPerJob { get; set; } = 8;

    /// <summary>How long <c>StopAsync</c> gives the trainer after SIGTERM when the caller names no grace period (default 30 s).</summary>
    public TimeSpan StopGracePeriod { get; set; } = TimeSpan.FromSeconds(30);
}
