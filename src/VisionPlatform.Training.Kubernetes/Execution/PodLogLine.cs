using System.Globalization;
using System.Text.RegularExpressions;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>Splits the RFC 3339 timestamp the API server puts in front of each log line when <c>timestamps=true</c>.</summary>
internal static partial class PodLogLine
{
    public static (DateTimeOffset? Timestamp, string Text) Parse(string line)
    {
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        var token = space < 0 ? line : line[..space];
        var match = Rfc3339().Match(token);
        if (!match.Success)
        {
            return (null, line);
        }

        // .NET keeps 7 fractional digits; the API server writes up to 9.
        var fraction = match.Groups["fraction"].Value;
        fraction = fraction.Length == 0 ? ".0" : fraction[..Math.Min(fraction.Length, 8)];
        var zone = match.Groups["zone"].Value is "Z" or "z" ? "+00:00" : match.Groups["zone"].Value;
        var text = $"{match.Groups["seconds"].Value}{fraction}{zone}";
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var timestamp))
        {
            return (null, line);
        }

        return (timestamp.ToUniversalTime(), space < 0 ? string.Empty : line[(space + 1)..]);
    }

    [GeneratedRegex(@"^(?<seconds>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?<fraction>\.\d+)?(?<zone>[Zz]|[+-]\d\d:\d\d)$", RegexOptions.CultureInvariant)]
    private static partial Regex Rfc3339();
}
