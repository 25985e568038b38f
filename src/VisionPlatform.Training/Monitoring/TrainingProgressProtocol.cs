using System.Text.Json;

namespace VisionPlatform.Training;

/// <summary>
/// The machine-readable progress line of the trainer contract: the prefix <c>VP_PROGRESS </c> followed by one JSON
/// object on the same line, for example
/// <c>VP_PROGRESS {"epoch": 3, "total_epochs": 10, "step": 300, "metrics": {"loss": 0.41, "accuracy": 0.87}}</c>.
/// <c>epoch</c> is required (a non-negative integer); <c>total_epochs</c>, <c>step</c> and <c>metrics</c> (numbers only)
/// are optional. Lines that do not match are ordinary log lines; a malformed progress line is ignored, never an error,
/// because a trainer's output must never fail a run. Python's <c>json.dumps</c> writes a non-finite float as the bare
/// token <c>NaN</c>, <c>Infinity</c> or <c>-Infinity</c> (not JSON): such a metric is skipped, the rest of the line is read.
/// </summary>
public static class TrainingProgressProtocol
{
    /// <summary>The prefix that marks a progress line, including its trailing space.</summary>
    public const string Prefix = "VP_PROGRESS ";

    /// <summary>Longest progress line parsed; longer lines are treated as ordinary log output.</summary>
    public const int MaxLineLength = 16 * 1024;

    /// <summary>
    /// Formats a progress line, for trainers written in .NET and for tests. The arguments follow the rules
    /// <see cref="TryParse"/> applies, so every line written is read back the same; a metric that is NaN or infinite (a
    /// diverging loss) is left out, as JSON has no such numbers.
    /// </summary>
    /// <param name="epoch">The completed epoch (0 or more).</param>
    /// <param name="totalEpochs">The total, when known (1 or more).</param>
    /// <param name="step">The step, when known (0 or more).</param>
    /// <param name="metrics">The metrics, when any; non-finite values are skipped.</param>
    /// <returns>The line, without a line terminator.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epoch"/> or <paramref name="step"/> is negative, or <paramref name="totalEpochs"/> is not positive.</exception>
    public static string Format(int epoch, int? totalEpochs = null, long? step = null, IReadOnlyDictionary<string, double>? metrics = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        if (totalEpochs is { } positive)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(positive, nameof(totalEpochs));
        }

        if (step is { } nonNegative)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(nonNegative, nameof(step));
        }

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

            if (metrics is not null && metrics.Values.Any(double.IsFinite))
            {
                json.WriteStartObject("metrics");
                foreach (var (name, value) in metrics.Where(m => double.IsFinite(m.Value)))
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
            using var document = JsonDocument.Parse(WithoutNamedFloats(line.AsMemory(Prefix.Length)));
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("epoch", out var epochElement)
                || epochElement.ValueKind != JsonValueKind.Number
                || !epochElement.TryGetInt32(out var epoch)
                || epoch < 0)
            {
                return false;
            }

            // TryGet* throw on a non-number (a string, or null from a NaN token): check the kind first.
            int? total = root.TryGetProperty("total_epochs", out var t) && t.ValueKind == JsonValueKind.Number && t.TryGetInt32(out var tv) && tv > 0 ? tv : null;
            long? step = root.TryGetProperty("step", out var s) && s.ValueKind == JsonValueKind.Number && s.TryGetInt64(out var sv) && sv >= 0 ? sv : null;
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

    /// <summary>
    /// Replaces the bare tokens <c>NaN</c>, <c>Infinity</c> and <c>-Infinity</c> outside strings by <c>null</c>, which
    /// <see cref="ReadMetrics"/> skips. System.Text.Json cannot read them (its named-literal option covers quoted strings
    /// only), and without this one diverging loss would drop the whole line.
    /// </summary>
    private static ReadOnlyMemory<char> WithoutNamedFloats(ReadOnlyMemory<char> json)
    {
        var text = json.Span;
        if (!text.Contains("NaN", StringComparison.Ordinal) && !text.Contains("Infinity", StringComparison.Ordinal))
        {
            return json;
        }

        var result = new System.Text.StringBuilder(text.Length);
        var inString = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (inString)
            {
                result.Append(c);
                if (c == '\\' && i + 1 < text.Length)
                {
                    result.Append(text[++i]);
                }
                else if (c == '"')
                {
                    inString = false;
                }

                continue;
            }

            var rest = text[i..];
            var tokenLength =
                rest.StartsWith("NaN", StringComparison.Ordinal) ? 3 :
                rest.StartsWith("Infinity", StringComparison.Ordinal) ? 8 :
                rest.StartsWith("-Infinity", StringComparison.Ordinal) ? 9 : 0;
            if (tokenLength > 0)
            {
                result.Append("null");
                i += tokenLength - 1;
                continue;
            }

            inString = c == '"';
            result.Append(c);
        }

        return result.ToString().AsMemory();
    }
}
