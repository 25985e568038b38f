namespace VisionPlatform.Training;

/// <summary>
/// When a start may move to another executor (<c>Training:Fallback</c>). A start falls back only when the requested
/// executor is unavailable (unreachable, circuit open, timed out), never on a request error, and only to an executor
/// the job fits. See docs/resilience.md.
/// </summary>
public sealed class TrainingFallbackOptions
{
    /// <summary>Whether starts may fall back at all (default <see langword="true"/>). Set <see langword="false"/> in migration phase 3 (Kubernetes only).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The executors to try, in order, when the requested one is unavailable (default none), for example
    /// <c>["subprocess"]</c> in migration phase 2. The requested executor itself is skipped if listed.
    /// </summary>
    public IList<string> Executors { get; } = [];

    /// <summary>
    /// How long routing may spend asking the requested executor whether an ambiguous start (a timeout or a 5xx
    /// after the request may have reached the server) created the run anyway, before it falls back (default 15 s).
    /// </summary>
    public TimeSpan VerifyTimeout { get; set; } = TimeSpan.FromSeconds(15);
}
