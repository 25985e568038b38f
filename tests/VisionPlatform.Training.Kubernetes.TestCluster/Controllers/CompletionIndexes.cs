using System.Globalization;
using System.Text;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Controllers;

/// <summary>Indexed Jobs write sets of indexes as ordered intervals: <c>"1,3-5,7"</c>.</summary>
internal static class CompletionIndexes
{
    public static string Format(IEnumerable<int> indexes)
    {
        var sorted = indexes.Distinct().Order().ToList();
        var text = new StringBuilder();
        for (var i = 0; i < sorted.Count; i++)
        {
            var start = sorted[i];
            var end = start;
            while (i + 1 < sorted.Count && sorted[i + 1] == end + 1)
            {
                end = sorted[++i];
            }

            if (text.Length > 0)
            {
                text.Append(',');
            }

            text.Append(start.ToString(CultureInfo.InvariantCulture));
            if (end != start)
            {
                text.Append('-').Append(end.ToString(CultureInfo.InvariantCulture));
            }
        }

        return text.ToString();
    }

    public static HashSet<int> Parse(string? text)
    {
        var result = new HashSet<int>();
        if (string.IsNullOrEmpty(text))
        {
            return result;
        }

        foreach (var part in text.Split(','))
        {
            var dash = part.IndexOf('-', StringComparison.Ordinal);
            if (dash < 0)
            {
                result.Add(int.Parse(part, CultureInfo.InvariantCulture));
                continue;
            }

            var start = int.Parse(part[..dash], CultureInfo.InvariantCulture);
            var end = int.Parse(part[(dash + 1)..], CultureInfo.InvariantCulture);
            for (var i = start; i <= end; i++)
            {
                result.Add(i);
            }
        }

        return result;
    }
}
