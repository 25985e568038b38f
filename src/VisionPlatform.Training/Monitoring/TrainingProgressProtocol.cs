using System.Text.Json;

namespace VisionPlatform.Training;

/// <summary>
/// The machine-readable progress line of the trainer contract: the prefix <c>VP_PROGRESS </c> followed by one JSON
/// object on the same line, for example
/// <c>VP_PROGRESS {"epoch": 3, "total_epochs": 10, "step": 300, "metrics": {"loss": 0.41, "accuracy": 0.87}}</c>.
/// <c>epoch</c> is required (a non-negative integer); <c>total_epochs</c>, <c>step</c> and <c>metrics</c> (numbers only)
/// are optional. Lines that do not match are ordinary log lines; a malformed progress line is ignored, never an error,
/// because a trainer's output must never fail a run.
/// </summary>
public static class TrainingProgressProtocol
{
    /// <summary>The prefix that marks a progress line, including its trailing space.</summary>
    public const string Prefix = "VP_PROGRESS ";

    /// <summary>Longest progress line parsed; longer lines are treated as ordinary log output.</summary>
    public const int MaxLineLength = 16 * 1024;

    /// <summary>Formats a progress line, for trainers written in .NET and for tests.</summary>
    /// <param name="epoch">The completed epoch.</param>
    /// <param name="totalEpochs">The total, when known.</param>
    /// <param name="step">The step, when known.</param>
    /// <param name="metrics">The metrics, when any.</param>
    /// <returns>The line, without a line terminator.</returns>
    public static string Format(int epoch, int? totalEpochs = null, long? step = null, IReadOnlyDictionary<string, double>? metrics = null)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("epoch", epoch);
            if (totalEpochs is { } total)
            {
                json.WriteNumber("total_epochs", total);
            }

            if (step is { } s)
            {
                json.WriteNumber("step", s);
            }

            if (metrics is { Count: > 0 })
            {
                json.WriteStartObject("metrics");
                foreach (var (name, value) in metrics)
                {
                    json.WriteNumber(name, value);
                }

                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        return Prefix + System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>Parses a log line as a progress line.</summary>
    /// <param name="line">The log line (a leading timestamp is not allowed: pass the text only).</param>
    /// <param name="reportedAt">When the line was written, when known.</param>
    /// <param name="progress">The progress, when the line is a well-formed progress line.</param>
    /// <returns>Whether the line is a well-formed progress line.</returns>
    public static bool TryParse(string? line, DateTimeOffset? reportedAt, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TrainingProgress? progress)
    {
        progress = null;
        if (line is null || line.Length > MaxLineLength || !line.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(line.AsMemory(Prefix.Length));
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("epoch", out var epochElement)
                || !epochElement.TryGetInt32(out var epoch)
                || epoch < 0)
            {
                return false;
            }

            int? total = root.TryGetProperty("total_epochs", out var t) && t.TryGetInt32(out var tv) && tv > 0 ? tv : null;
            long? step = root.TryGetProperty("step", out var s) && s.TryGetInt64(out var sv) && sv >= 0 ? sv : null;
            progress = new TrainingProgress
            {
                Epoch = epoch,
                TotalEpochs = total,
                Step = step,
                Metrics = ReadMetrics(root),
                ReportedAt = reportedAt,
            };
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static IReadOnlyDictionary<string, double> ReadMetrics(JsonElement root)
    {
        if (!root.TryGetProperty("metrics", out var metrics) || metrics.ValueKind != JsonValueKind.Object)
        {
            return TrainingProgress.EmptyMetrics;
        }

        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var metric in metrics.EnumerateObject())
        {
            // Only finite numbers: NaN/Infinity are not JSON, and strings are not metrics.
            if (metric.Value.ValueKind == JsonValueKind.Number && metric.Value.TryGetDouble(out var value) && double.IsFinite(value))
            {
                values[metric.Name] = value;
            }
        }

        return values.Count == 0 ? TrainingProgress.EmptyMetrics : values;
    }
}
