using System.Globalization;
using System.Text;

namespace VisionPlatform.Training.QuickStart.Display;

/// <summary>
/// Writes the followed log: ordinary lines indented, progress lines as an epoch bar with the loss. One line per
/// event (no cursor tricks), so the output reads the same in a terminal, a pipe or a CI log.
/// </summary>
internal sealed class ProgressDisplay(TextWriter output)
{
    private const int BarWidth = 20;

    public ProgressReport? Last { get; private set; }

    public void OnLogLine(string line)
    {
        if (ProgressReport.TryParse(line, out var report))
        {
            Last = report;
            output.WriteLine(FormatBar(report));
        }
        else
        {
            output.WriteLine("  | " + line);
        }
    }

    public static string FormatBar(ProgressReport report)
    {
        var total = Math.Max(report.TotalEpochs, 1);
        var done = Math.Clamp(report.Epoch, 0, total);
        var filled = (int)Math.Round(BarWidth * (double)done / total, MidpointRounding.AwayFromZero);
        var text = new StringBuilder()
            .Append('[').Append('#', filled).Append('.', BarWidth - filled).Append("] ")
            .Append(CultureInfo.InvariantCulture, $"epoch {report.Epoch}/{report.TotalEpochs}");
        foreach (var (name, value) in report.Metrics.OrderBy(m => m.Key == "loss" ? 0 : 1).ThenBy(m => m.Key, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"  {name} {value:0.0000}");
        }

        return text.ToString();
    }
}
