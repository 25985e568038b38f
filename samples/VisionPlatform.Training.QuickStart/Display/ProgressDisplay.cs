using System.Globalization;
using System.Text;

namespace VisionPlatform.Training.QuickStart.Display;

/// <summary>
/// Writes a run's events as they happen: each phase change with its reason and message, ordinary log lines indented,
/// progress (parsed by the SDK from the trainer's <c>VP_PROGRESS</c> lines) as an epoch bar with the metrics. One line
/// per event (no cursor tricks), so the output reads the same in a terminal, a pipe or a CI log.
/// </summary>
internal sealed class ProgressDisplay(TextWriter output)
{
    private const int BarWidth = 20;

    /// <summary>Writes one event; fallback decisions are reported by the runner from the operation instead.</summary>
    public void Show(TrainingJobEvent item)
    {
        switch (item)
        {
            case TrainingPhaseChangedEvent phase:
                output.WriteLine(FormatPhase(phase.Status));
                break;
            case TrainingProgressEvent progress:
                output.WriteLine(FormatBar(progress.Progress));
                break;
            case TrainingLogEvent log when !TrainingProgressProtocol.TryParse(log.Line.Text, log.Line.Timestamp, out _):
                // Progress lines are shown by their progress event, parsed by the SDK with the protocol's own rules.
                output.WriteLine("  | " + log.Line.Text);
                break;
            case TrainingEventsDroppedEvent dropped:
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"({dropped.Count} events were dropped: the display fell behind)"));
                break;
        }
    }

    /// <summary>
    /// <c>phase: Pending (WaitingForSlot): message</c>; a retry names its attempt:
    /// <c>phase: Pending (ContainerCreating, attempt 2): message</c>.
    /// </summary>
    public static string FormatPhase(TrainingRunStatus status)
    {
        var text = new StringBuilder("phase: ").Append(status.Phase).Append(" (").Append(status.Reason);
        if (status.Attempt > 1)
        {
            text.Append(CultureInfo.InvariantCulture, $", attempt {status.Attempt}");
        }

        text.Append(')');
        if (!string.IsNullOrWhiteSpace(status.Message))
        {
            text.Append(": ").Append(status.Message.ReplaceLineEndings(" "));
        }

        return text.ToString();
    }

    public static string FormatBar(TrainingProgress progress)
    {
        var text = new StringBuilder();
        if (progress.TotalEpochs is { } total)
        {
            var filled = (int)Math.Round(BarWidth * (progress.Percent ?? 0) / 100, MidpointRounding.AwayFromZero);
            text.Append('[').Append('#', filled).Append('.', BarWidth - filled).Append("] ")
                .Append(CultureInfo.InvariantCulture, $"epoch {progress.Epoch}/{total}");
        }
        else
        {
            text.Append(CultureInfo.InvariantCulture, $"epoch {progress.Epoch}");
        }

        foreach (var (name, value) in progress.Metrics.OrderBy(m => m.Key == "loss" ? 0 : 1).ThenBy(m => m.Key, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"  {name} {value:0.0000}");
        }

        return text.ToString();
    }
}
