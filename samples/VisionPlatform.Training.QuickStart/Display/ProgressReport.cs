using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace VisionPlatform.Training.QuickStart.Display;

/// <summary>
/// One <c>VP_PROGRESS {"epoch": e, "total_epochs": n, "step": s, "metrics": {...}}</c> line from the trainer.
/// </summary>
internal sealed record ProgressReport(int Epoch, int TotalEpochs, long Step, IReadOnlyDictionary<string, double> Metrics)
{
    public const string Prefix = "VP_PROGRESS ";

    /// <summary>Reads a progress line; anything else (including a malformed one) is an ordinary log line.</summary>
    public static bool TryParse(string line, [NotNullWhen(true)] out ProgressReport? report)
    {
        report = null;
        if (!line.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        try
        {
            using var doc = JsonDocument.Parse(line.AsMemory(Prefix.Length));
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object ||
                !root.TryGetProperty("epoch", out var epoch) || !epoch.TryGetInt32(out var e) ||
                !root.TryGetProperty("total_epochs", out var total) || !total.TryGetInt32(out var n))
            {
                return false;
            }

            var step = root.TryGetProperty("step", out var s) && s.TryGetInt64(out var st) ? st : 0;
            var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
            if (root.TryGetProperty("metrics", out var m) && m.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in m.EnumerateObject())
                {
                    if (p.Value.ValueKind == JsonValueKind.Number)
                    {
                        metrics[p.Name] = p.Value.GetDouble();
                    }
                }
            }

            report = new ProgressReport(e, n, step, metrics);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
