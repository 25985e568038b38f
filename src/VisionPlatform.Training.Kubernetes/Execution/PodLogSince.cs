namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// The <c>sinceSeconds</c> of a pod log read that must include every line from a timestamp on: a resumed follow (from
/// the last line seen) or <see cref="TrainingLogOptions.Since"/>. The server counts <c>sinceSeconds</c> back from its
/// own clock when it answers (on a real cluster, the node's clock), while this host measures the time passed with its
/// clock before it sends the request. So the window is widened by <see cref="Overlap"/>, which covers the request's
/// latency (seconds on a loaded host) and the skew between the two clocks; every caller drops the lines before its
/// timestamp (and the lines already seen at it), so the overlap costs only lines read again, never a repeat.
/// </summary>
internal static class PodLogSince
{
    /// <summary>How much earlier than asked the read starts.</summary>
    public static readonly TimeSpan Overlap = TimeSpan.FromSeconds(10);

    /// <summary>Whole seconds back from now to <paramref name="from"/>, plus <see cref="Overlap"/>; at least 1.</summary>
    /// <param name="time">This host's clock.</param>
    /// <param name="from">The earliest line wanted.</param>
    /// <returns>The <c>sinceSeconds</c> to send.</returns>
    public static int SinceSeconds(TimeProvider time, DateTimeOffset from) =>
        Math.Max(1, (int)Math.Ceiling((time.GetUtcNow() - from + Overlap).TotalSeconds));
}
