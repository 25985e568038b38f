namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Where a pod log read resumes after a dropped stream: the last timestamp seen and how many lines (or parts of a long
/// line) carried it. A trainer can print several lines within one timestamp, so the timestamp alone would either repeat
/// or lose some of them; the count tells how many lines at it to skip. Shared by the executor's log reader, the event
/// hub's follower and the log archiver.
/// </summary>
/// <param name="Timestamp">The last timestamp seen, or null before the first line.</param>
/// <param name="CountAtTimestamp">How many lines seen carried <paramref name="Timestamp"/>.</param>
internal readonly record struct LogResumePoint(DateTimeOffset? Timestamp, int CountAtTimestamp)
{
    /// <summary>The point after one more line seen at <paramref name="timestamp"/> (a line without one changes nothing).</summary>
    /// <param name="timestamp">The line's timestamp.</param>
    /// <returns>The new point.</returns>
    public LogResumePoint Advance(DateTimeOffset? timestamp) =>
        timestamp is null ? this : timestamp == Timestamp ? this with { CountAtTimestamp = CountAtTimestamp + 1 } : new LogResumePoint(timestamp, 1);

    /// <summary>A filter for one read that starts at or before this point: it drops what was seen before.</summary>
    /// <returns>The filter.</returns>
    public SeenFilter StartRead() => new(this);

    /// <summary>Drops, in one read's order, the lines before the point and the first <c>CountAtTimestamp</c> lines at it.</summary>
    internal sealed class SeenFilter(LogResumePoint point)
    {
        private int _skipAtLast = point.CountAtTimestamp;

        /// <summary>Whether a line with this timestamp was seen before (and is to be skipped).</summary>
        /// <param name="timestamp">The line's timestamp (the parts of a long line share the line's).</param>
        /// <returns><see langword="true"/> to skip the line.</returns>
        public bool Seen(DateTimeOffset? timestamp)
        {
            if (point.Timestamp is not { } last || timestamp is not { } at)
            {
                return false;
            }

            if (at < last)
            {
                return true;
            }

            if (at == last && _skipAtLast > 0)
            {
                _skipAtLast--;
                return true;
            }

            return false;
        }
    }
}
