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

    /// <summary>
    /// The name of the <c>coordination.k8s.io/v1</c> Lease that elects the one host per namespace that archives
    /// (<c>Training:Kubernetes:Logs:LeaseName</c>; default <c>visionplatform-training-log-archiver</c>, a DNS-1123 subdomain).
    /// Hosts that share a namespace must use the same name.
    /// </summary>
    public string LeaseName { get; set; } = "visionplatform-training-log-archiver";

    /// <summary>
    /// How long the archiving host's Lease lasts without a renewal (<c>Training:Kubernetes:Logs:LeaseDuration</c>; default
    /// 15 seconds, between 2 seconds and 5 minutes, whole seconds). The holder renews every third of it and stops archiving
    /// when a renewal has not succeeded for four fifths of it; another host takes over once it saw no renewal for all of it.
    /// </summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(15);

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

        if (string.IsNullOrEmpty(LeaseName) || !NameSyntax.IsDnsSubdomain(LeaseName))
        {
            errors.Add($"{sectionPath}:LeaseName is '{LeaseName}': it must be a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', at most 253 characters, starting and ending with a letter or digit).");
        }

        if (LeaseDuration < TimeSpan.FromSeconds(2) || LeaseDuration > TimeSpan.FromMinutes(5) || LeaseDuration.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            errors.Add($"{sectionPath}:LeaseDuration is {LeaseDuration}: it must be whole seconds between 00:00:02 and 00:05:00.");
        }

        return errors;
    }
}
