namespace VisionPlatform.Training;

/// <summary>Whether an executor can accept work now, and why not.</summary>
/// <param name="IsAvailable">Whether new runs can start.</param>
/// <param name="Reason">Why the executor is unavailable (or a note when it is available).</param>
/// <param name="CheckedAt">When this was determined.</param>
public sealed record ExecutorAvailability(bool IsAvailable, string? Reason, DateTimeOffset CheckedAt)
{
    /// <summary>An available result.</summary>
    /// <param name="checkedAt">When it was checked.</param>
    public static ExecutorAvailability Available(DateTimeOffset checkedAt) => new(true, null, checkedAt);

    /// <summary>An unavailable result with its reason.</summary>
    /// <param name="reason">Why: names the setting or endpoint to fix.</param>
    /// <param name="checkedAt">When it was checked.</param>
    public static ExecutorAvailability Unavailable(string reason, DateTimeOffset checkedAt) => new(false, reason, checkedAt);
}
