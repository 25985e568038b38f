using System.Globalization;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Api.Tables;

/// <summary>
/// Durations as apimachinery's <c>duration.HumanDuration</c> writes them in AGE, DURATION and RESTARTS cells: whole
/// seconds up to two minutes, then minutes (with seconds below ten minutes), hours (with minutes below eight hours),
/// days (with hours below eight days) and years.
/// </summary>
internal static class HumanDuration
{
    public static string Format(TimeSpan d)
    {
        // The apiserver tolerates up to two seconds of clock skew as "now"; anything further in the future is invalid.
        var seconds = (long)d.TotalSeconds;
        if (seconds < -1)
        {
            return "<invalid>";
        }

        if (seconds < 0)
        {
            return "0s";
        }

        if (seconds < 60 * 2)
        {
            return Invariant($"{seconds}s");
        }

        var minutes = (long)d.TotalMinutes;
        if (minutes < 10)
        {
            var s = seconds % 60;
            return s == 0 ? Invariant($"{minutes}m") : Invariant($"{minutes}m{s}s");
        }

        if (minutes < 60 * 3)
        {
            return Invariant($"{minutes}m");
        }

        var hours = (long)d.TotalHours;
        if (hours < 8)
        {
            var m = minutes % 60;
            return m == 0 ? Invariant($"{hours}h") : Invariant($"{hours}h{m}m");
        }

        if (hours < 48)
        {
            return Invariant($"{hours}h");
        }

        if (hours < 24 * 8)
        {
            var h = hours % 24;
            return h == 0 ? Invariant($"{hours / 24}d") : Invariant($"{hours / 24}d{h}h");
        }

        if (hours < 24 * 365 * 2)
        {
            return Invariant($"{hours / 24}d");
        }

        if (hours < 24 * 365 * 8)
        {
            var days = hours / 24 % 365;
            return days == 0 ? Invariant($"{hours / 24 / 365}y") : Invariant($"{hours / 24 / 365}y{days}d");
        }

        return Invariant($"{hours / 24 / 365}y");
    }

    /// <summary>The time since <paramref name="timestamp"/>, or <c>&lt;unknown&gt;</c> without one (translateTimestampSince).</summary>
    public static string Since(string? timestamp, DateTimeOffset now) =>
        Store.Json.ParseTime(timestamp) is { } t ? Format(now - t) : "<unknown>";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
