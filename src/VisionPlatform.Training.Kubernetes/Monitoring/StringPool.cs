using System.Collections.Concurrent;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Shares the strings that repeat across thousands of cached runs (phases, reasons, label keys, image names,
/// scheduler messages), so the cache stores one copy of each. Bounded: once full, new strings are kept as they are.
/// </summary>
internal static class StringPool
{
    private const int MaxEntries = 8192;
    private const int MaxLength = 512;
    private static readonly ConcurrentDictionary<string, string> Strings = new(StringComparer.Ordinal);

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
}
