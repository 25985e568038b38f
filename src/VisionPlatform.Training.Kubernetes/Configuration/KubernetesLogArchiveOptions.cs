namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Archiving of Kubernetes runs' logs into an <see cref="VisionPlatform.Training.Storage.IRunLogArchive"/> (the artifact store),
/// bound from <c>Training:Kubernetes:Logs</c>, so that logs outlive the pods the TTL controller deletes. See
/// <c>docs/kubernetes.md</c> ("Logs that outlive pods").
/// </summary>
public sealed class KubernetesLogArchiveOptions
{
    /// <summary>
    /// Whether the run monitor archives every run's trainer log while its pods run (<c>Training:Kubernetes:Logs:Archive</c>).
    /// Unset (the default): on when an <see cref="VisionPlatform.Training.Storage.IRunLogArchive"/> is registered (for example
    /// by <c>AddArtifactStorage</c>) and the monitor is enabled. <see langword="false"/>: off (the 1.0 behaviour).
    /// </summary>
    public bool? Archive { get; set; }

    /// <summary>A chunk is written once it holds this many bytes (default 256 KiB; capped by the archive's chunk limit).</summary>
    public int ChunkBytes { get; set; } = 256 * 1024;

    /// <summary>A chunk holding lines is written at least this often (default 5 seconds), and always when the pod ends.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How many pod logs are archived at once (default 200); further pods wait for a free place.</summary>
    public int MaxFollows { get; set; } = 200;

    /// <summary>
    /// The <c>ttlSecondsAfterFinished</c> Jobs are created with while archiving is on (default 7 days): the Job is deleted then
    /// even if no host ever archives its log. Once a finished run's log is archived, the monitor sets the Job's TTL to
    /// <c>Job:TtlSecondsAfterFinished</c>. Whole seconds.
    /// </summary>
    public TimeSpan BackstopTtl { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Checks every setting; each message names the key under <paramref name="sectionPath"/> and the rule.</summary>
    /// <param name="sectionPath">The section, for example <c>Training:Kubernetes:Logs</c>.</param>
    /// <returns>The problems; empty when the options are valid.</returns>
    public IReadOnlyList<string> Validate(string sectionPath)
    {
        var errors = new List<string>();
        if (ChunkBytes is < 4096 or > 64 * 1024 * 1024)
        {
            errors.Add($"{sectionPath}:ChunkBytes is {ChunkBytes}: it must be between 4096 and 67108864.");
        }

        if (FlushInterval < TimeSpan.FromMilliseconds(100) || FlushInterval > TimeSpan.FromHours(1))
        {
            errors.Add($"{sectionPath}:FlushInterval is {FlushInterval}: it must be between 00:00:00.1 and 01:00:00.");
        }

        if (MaxFollows is < 1 or > 10_000)
        {
            errors.Add($"{sectionPath}:MaxFollows is {MaxFollows}: it must be between 1 and 10000.");
        }

        if (BackstopTtl < TimeSpan.FromSeconds(1) || BackstopTtl > TimeSpan.FromDays(365) || BackstopTtl.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            errors.Add($"{sectionPath}:BackstopTtl is {BackstopTtl}: it must be whole seconds between 00:00:01 and 365.00:00:00.");
        }

        return errors;
    }
}
