namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Retries and timeouts for Kubernetes API calls (<c>Training:Kubernetes:Connection:Resilience</c>). Calls are retried with
/// exponential backoff and jitter on 429, 5xx (except 501 and 505), per-attempt timeouts and connection failures,
/// honouring <c>Retry-After</c>; other 4xx answers are returned at once. Creates are retried too: Job names are
/// deterministic, so a create that reached the server before failing comes back as AlreadyExists, which the executor
/// treats as success when the config matches. Watches and followed logs are not retried or timed out here.
/// </summary>
public sealed class KubernetesResilienceOptions
{
    /// <summary>Retries after the first attempt (default 3; 0 disables retries).</summary>
    public int MaxRetryAttempts { get; set; } = 3;

    /// <summary>The first backoff delay; each retry doubles it, with jitter (default 200 ms).</summary>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The largest backoff delay (default 5 s).</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long one attempt may take, until its response is fully read (default 10 s).</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The longest <c>Retry-After</c> the client waits for (default 30 s). A 429 or 503 asking for a longer wait is
    /// returned to the caller instead, so it fails fast rather than hanging.
    /// </summary>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Checks every setting; each message names the key under <paramref name="sectionPath"/> and the rule.</summary>
    /// <param name="sectionPath">The section these options are bound from, for example <c>Training:Kubernetes:Connection:Resilience</c>.</param>
    /// <returns>The problems; empty when the options are valid.</returns>
    public IReadOnlyList<string> Validate(string sectionPath)
    {
        var errors = new List<string>();
        if (MaxRetryAttempts is < 0 or > 20)
        {
            errors.Add($"{sectionPath}:MaxRetryAttempts is {MaxRetryAttempts}: it must be between 0 and 20.");
        }

        CheckRange(errors, $"{sectionPath}:BaseDelay", BaseDelay, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(1));
        CheckRange(errors, $"{sectionPath}:MaxDelay", MaxDelay, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(10));
        CheckRange(errors, $"{sectionPath}:AttemptTimeout", AttemptTimeout, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10));
        CheckRange(errors, $"{sectionPath}:MaxRetryAfter", MaxRetryAfter, TimeSpan.Zero, TimeSpan.FromMinutes(10));
        if (MaxDelay < BaseDelay)
        {
            errors.Add($"{sectionPath}:MaxDelay is {MaxDelay}: it must be at least {sectionPath}:BaseDelay ({BaseDelay}).");
        }

        return errors;
    }

    private static void CheckRange(List<string> errors, string key, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            errors.Add($"{key} is {value}: it must be between {min} and {max}.");
        }
    }
}
