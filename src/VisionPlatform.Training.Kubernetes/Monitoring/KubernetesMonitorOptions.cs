namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// The Kubernetes run monitor, bound from <c>Training:Kubernetes:Monitor</c>: one list and watch per namespace for the
/// SDK's Jobs and one for their pods, whose cache serves status reads and whose changes become events. See
/// <c>docs/monitoring.md</c> ("Kubernetes monitor").
/// </summary>
public sealed class KubernetesMonitorOptions
{
    /// <summary>Whether the host runs the monitor (default <see langword="true"/>). Without it, status reads call the API.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The <c>timeoutSeconds</c> of each watch request (default 5 minutes): the server ends the stream after it and the
    /// monitor resumes from the last resourceVersion. Whole seconds.
    /// </summary>
    public TimeSpan WatchTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a watch may go without any event or bookmark before it is considered stalled and reopened (default
    /// 3 minutes; API servers send a bookmark about every minute).
    /// </summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>The first reconnect delay after a failed list or watch (default 1 second); it doubles per failure, with jitter.</summary>
    public TimeSpan BackoffBase { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest reconnect delay (default 30 seconds).</summary>
    public TimeSpan BackoffMax { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Items per page of the initial and recovery lists (default 500).</summary>
    public int ListPageSize { get; set; } = 500;

    /// <summary>How many pod logs the monitor follows at once for progress and log events (default 100).</summary>
    public int MaxLogFollows { get; set; } = 100;

    /// <summary>
    /// How often runs whose status depends on time alone (a pod stuck pulling its image, see
    /// <see cref="KubernetesExecutorOptions.ImagePullBackOffTimeout"/>) are re-evaluated (default 10 seconds).
    /// </summary>
    public TimeSpan ReevaluateInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Checks every setting; each message names the key under <paramref name="sectionPath"/> and the rule.</summary>
    /// <param name="sectionPath">The section these options are bound from, for example <c>Training:Kubernetes:Monitor</c>.</param>
    /// <returns>The problems; empty when the options are valid.</returns>
    public IReadOnlyList<string> Validate(string sectionPath)
    {
        var errors = new List<string>();
        Range(errors, $"{sectionPath}:WatchTimeout", WatchTimeout, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
        if (WatchTimeout.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            errors.Add($"{sectionPath}:WatchTimeout is {WatchTimeout}: it must be whole seconds (it is sent as timeoutSeconds).");
        }

        Range(errors, $"{sectionPath}:IdleTimeout", IdleTimeout, TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(2));
        Range(errors, $"{sectionPath}:BackoffBase", BackoffBase, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(1));
        Range(errors, $"{sectionPath}:BackoffMax", BackoffMax, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(10));
        if (BackoffMax < BackoffBase)
        {
            errors.Add($"{sectionPath}:BackoffMax is {BackoffMax}: it must be at least {sectionPath}:BackoffBase ({BackoffBase}).");
        }

        Range(errors, $"{sectionPath}:ReevaluateInterval", ReevaluateInterval, TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1));
        if (ListPageSize is < 1 or > 10_000)
        {
            errors.Add($"{sectionPath}:ListPageSize is {ListPageSize}: it must be between 1 and 10000.");
        }

        if (MaxLogFollows is < 0 or > 10_000)
        {
            errors.Add($"{sectionPath}:MaxLogFollows is {MaxLogFollows}: it must be between 0 (no progress or log events for Kubernetes runs) and 10000.");
        }

        return errors;
    }

    private static void Range(List<string> errors, string key, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            errors.Add($"{key} is {value}: it must be between {min} and {max}.");
        }
    }
}
