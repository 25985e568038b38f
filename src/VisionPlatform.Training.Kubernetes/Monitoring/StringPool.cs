using System.Collections.Concurrent;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Shares the strings that repeat across thousands of cached runs (phases, reasons, label keys, image names,
/// scheduler messages), so the cache stores one copy of each, and the label arrays that repeat (the SDK's Jobs of one
/// project carry the same labels but for the job id). Bounded: once full, new values are kept as they are.
/// </summary>
internal static class StringPool
{
    private const int MaxEntries = 8192;
    private const int MaxLength = 512;
    private const int MaxLabelArrays = 1024;
    private static readonly ConcurrentDictionary<string, string> Strings = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string[], string[]> LabelArrays = new(LabelArrayComparer.Instance);

    public static string? Share(string? value)
    {
        if (value is null || value.Length > MaxLength)
        {
            return value;
        }

        if (Strings.TryGetValue(value, out var shared))
        {
            return shared;
        }

        return Strings.Count < MaxEntries ? Strings.GetOrAdd(value, value) : value;
    }

    /// <summary>An array with the same strings in the same order, shared with every caller that passed an equal one. Never modify it.</summary>
    public static string[] ShareLabels(string[] pairs)
    {
        if (pairs.Length == 0)
        {
            return [];
        }

        if (LabelArrays.TryGetValue(pairs, out var shared))
        {
            return shared;
        }

        return LabelArrays.Count < MaxLabelArrays ? LabelArrays.GetOrAdd(pairs, pairs) : pairs;
    }

    private sealed class LabelArrayComparer : IEqualityComparer<string[]>
    {
        public static readonly LabelArrayComparer Instance = new();

        public bool Equals(string[]? x, string[]? y) =>
            ReferenceEquals(x, y) || (x is not null && y is not null && x.AsSpan().SequenceEqual(y, StringComparer.Ordinal));

        public int GetHashCode(string[] obj)
        {
            var hash = default(HashCode);
            foreach (var item in obj)
            {
                hash.Add(item, StringComparer.Ordinal);
            }

            return hash.ToHashCode();
        }
    }
}
