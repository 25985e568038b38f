namespace VisionPlatform.Training;

/// <summary>One line of a run's log (stdout and stderr merged, in order).</summary>
/// <param name="Text">The line without its line terminator.</param>
/// <param name="Timestamp">When the line was written, when requested and known.</param>
/// <param name="Attempt">The attempt that wrote it, starting at 1.</param>
public readonly record struct TrainingLogLine(string Text, DateTimeOffset? Timestamp = null, int Attempt = 1)
{
    /// <summary>
    /// The longest line an executor keeps whole, in UTF-8 bytes (1 MiB). A longer line (a trainer printing without a
    /// newline) arrives as several lines of at most this size, so one endless line cannot exhaust the host's memory.
    /// </summary>
    public const int MaxLineBytes = 1024 * 1024;
}
