using System.Globalization;
using System.Text.Json;
using VisionPlatform.Training.Subprocess;

namespace VisionPlatform.Training.QuickStart.Display;

/// <summary>Reads and prints the trainer's <c>metrics.json</c> (final metrics and per-epoch history).</summary>
internal static class RunMetrics
{
    /// <summary>The trainer's output directory, as the launch plan passes it (<c>--output_dir</c> or the config JSON).</summary>
    public static string? OutputDirectoryOf(SubprocessLaunchPlan plan)
    {
        var args = plan.Arguments;
        for (var i = 0; i + 1 < args.Count; i++)
        {
            if (args[i] == "--output_dir")
            {
                return args[i + 1];
            }

            if (args[i] == "--config")
            {
                try
                {
                    using var doc = JsonDocument.Parse(args[i + 1]);
                    return doc.RootElement.TryGetProperty("output_dir", out var dir) ? dir.GetString() : null;
                }
                catch (JsonException)
                {
                    return null;
                }
            }
        }

        return null;
    }

    public static void Print(string outputDirectory, TextWriter output)
    {
        var path = Path.Combine(outputDirectory, "metrics.json");
        if (!File.Exists(path))
        {
            output.WriteLine($"metrics: none ({path} was not written)");
            return;
        }

        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var root = doc.RootElement;
            output.WriteLine($"metrics ({path}):");
            if (root.TryGetProperty("final", out var final) && final.ValueKind == JsonValueKind.Object)
            {
                foreach (var metric in final.EnumerateObject())
                {
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {metric.Name,-10} {Format(metric.Value)}"));
                }
            }

            if (root.TryGetProperty("history", out var history) && history.ValueKind == JsonValueKind.Array && history.GetArrayLength() > 1)
            {
                var losses = history.EnumerateArray()
                    .Select(h => h.TryGetProperty("loss", out var l) && l.ValueKind == JsonValueKind.Number ? l.GetDouble().ToString("0.0000", CultureInfo.InvariantCulture) : "?")
                    .ToList();

                // Long runs: the first and last few epochs tell the story.
                if (losses.Count > 8)
                {
                    losses = [.. losses.Take(3), "...", .. losses.TakeLast(3)];
                }

                output.WriteLine($"  loss by epoch: {string.Join(" -> ", losses)}");
            }
        }
        catch (JsonException e)
        {
            output.WriteLine($"metrics: {path} is not valid JSON ({e.Message})");
        }
    }

    private static string Format(JsonElement value) => value.ValueKind == JsonValueKind.Number
        ? value.GetDouble().ToString("0.0000", CultureInfo.InvariantCulture)
        : value.ToString();
}
