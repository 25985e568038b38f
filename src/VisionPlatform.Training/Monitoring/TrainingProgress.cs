namespace VisionPlatform.Training;

/// <summary>
/// How far a run has got, parsed from the trainer's <c>VP_PROGRESS</c> lines (see <see cref="TrainingProgressProtocol"/>).
/// Both executors fill it the same way, into <see cref="TrainingRunStatus.Progress"/> and <see cref="TrainingProgressEvent"/>.
/// </summary>
public sealed record TrainingProgress
{
    /// <summary>The last completed epoch, starting at 1 (0 before the first one completes).</summary>
    public required int Epoch { get; init; }

    /// <summary>The number of epochs the run will train, when the trainer reports it.</summary>
    public int? TotalEpochs { get; init; }

    /// <summary>The optimizer step reached, when the trainer reports it.</summary>
    public long? Step { get; init; }

    /// <summary>The latest metrics (for example <c>loss</c>, <c>accuracy</c>, <c>mAP50</c>), by name.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = EmptyMetrics;

    /// <summary>Completed share of the run, 0 to 100, when <see cref="TotalEpochs"/> is known.</summary>
    public double? Percent => TotalEpochs is > 0 ? Math.Clamp(100.0 * Epoch / TotalEpochs.Value, 0, 100) : null;

    /// <summary>When the trainer wrote the line (or when the SDK read it, when the log carries no timestamp).</summary>
    public DateTimeOffset? ReportedAt { get; init; }

    /// <summary>
    /// The estimated time left: the mean epoch time so far times the epochs still to go. Known once an epoch has
    /// completed, the total is known and the run's start time is known.
    /// </summary>
    public TimeSpan? EstimatedTimeRemaining { get; init; }

    internal static IReadOnlyDictionary<string, double> EmptyMetrics { get; } = new Dictionary<string, double>(0, StringComparer.Ordinal);

    /// <summary>
    /// Returns a copy with <see cref="EstimatedTimeRemaining"/> computed from when the run started running.
    /// </summary>
    /// <param name="startedAt">When the trainer started; <see langword="null"/> leaves the estimate unknown.</param>
    /// <param name="now">The time of the estimate, used when <see cref="ReportedAt"/> is unknown.</param>
    /// <returns>The progress with its estimate.</returns>
    public TrainingProgress WithEstimate(DateTimeOffset? startedAt, DateTimeOffset now)
    {
        var at = ReportedAt ?? now;
        if (startedAt is null || TotalEpochs is not > 0 || Epoch <= 0 || at <= startedAt.Value)
        {
            return this with { ReportedAt = at, EstimatedTimeRemaining = null };
        }

        var perEpoch = (at - startedAt.Value) / Epoch;
        var left = Math.Max(0, TotalEpochs.Value - Epoch);
        var sinceReport = now > at ? now - at : TimeSpan.Zero;
        var remaining = (perEpoch * left) - sinceReport;
        return this with { ReportedAt = at, EstimatedTimeRemaining = remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero };
    }
}
