using System.Text;
using VisionPlatform.Training.Subprocess.Monitoring;

namespace VisionPlatform.Training.Tests.Subprocess.Monitoring;

/// <summary>The backwards scan that gives a run's latest progress without reading its log forward.</summary>
public sealed class ProgressTailTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vp-progress-tail", Guid.NewGuid().ToString("N"));

    public ProgressTailTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_last_well_formed_progress_line_wins_and_a_line_still_being_written_waits_for_its_newline()
    {
        var log = Write(
            "starting\n" +
            TrainingProgressProtocol.Format(1, 5, 10, new Dictionary<string, double> { ["loss"] = 0.9 }) + "\n" +
            TrainingProgressProtocol.Format(2, 5, 20, new Dictionary<string, double> { ["loss"] = 0.5 }) + "\r\n" +
            "VP_PROGRESS {not json}\n" +
            "epoch 2 done\n" +
            TrainingProgressProtocol.Format(3, 5));

        var (end, last) = ProgressTail.Scan(log, 0, final: false, Now);

        last!.Epoch.Should().Be(2, "the unterminated line may still be growing; the malformed one is an ordinary line");
        last.TotalEpochs.Should().Be(5);
        last.Step.Should().Be(20);
        last.Metrics["loss"].Should().Be(0.5);
        last.ReportedAt.Should().Be(Now);
        end.Should().Be(new FileInfo(log).Length - TrainingProgressProtocol.Format(3, 5).Length);

        ProgressTail.Scan(log, 0, final: true, Now).Last!.Epoch.Should().Be(3, "once the writer has exited its last line counts");
    }

    [Fact]
    public void A_later_scan_reads_only_what_was_written_since_and_keeps_nothing_when_nothing_new_is_progress()
    {
        var log = Write(TrainingProgressProtocol.Format(1, 3) + "\nhalf a li");
        var (end, first) = ProgressTail.Scan(log, 0, final: false, Now);
        first!.Epoch.Should().Be(1);

        File.AppendAllText(log, "ne\nplain\n");
        var (end2, second) = ProgressTail.Scan(log, end, final: false, Now);
        second.Should().BeNull("no progress line after the first scan");
        end2.Should().Be(new FileInfo(log).Length);

        File.AppendAllText(log, TrainingProgressProtocol.Format(2, 3) + "\n");
        ProgressTail.Scan(log, end2, final: false, Now).Last!.Epoch.Should().Be(2);
        ProgressTail.Scan(log, new FileInfo(log).Length, final: true, Now).Should().Be((new FileInfo(log).Length, (TrainingProgress?)null));
    }

    [Fact]
    public void Lines_across_block_boundaries_are_found_and_a_missing_log_has_no_progress()
    {
        // Pad so the progress line straddles the 64 KiB block boundary counted from the end.
        var progress = TrainingProgressProtocol.Format(7, 9, 700, new Dictionary<string, double> { ["accuracy"] = 0.75 });
        var after = new string('x', (64 * 1024) - 20) + "\n";
        var log = Write(new string('a', 100_000) + "\n" + progress + "\n" + after);

        var (_, last) = ProgressTail.Scan(log, 0, final: false, Now);

        last!.Epoch.Should().Be(7);
        last.Metrics["accuracy"].Should().Be(0.75);
        ProgressTail.Scan(Path.Combine(_dir, "missing.log"), 0, final: false, Now).Should().Be((0L, (TrainingProgress?)null));
    }

    [Fact]
    public void The_first_line_of_the_log_counts_but_a_scan_looks_back_at_most_MaxScanBytes()
    {
        var small = Write(TrainingProgressProtocol.Format(4, 8) + "\n");
        ProgressTail.Scan(small, 0, final: false, Now).Last!.Epoch.Should().Be(4);

        var big = Path.Combine(_dir, "big.log");
        using (var stream = File.Create(big))
        {
            stream.Write(Encoding.UTF8.GetBytes(TrainingProgressProtocol.Format(1, 8) + "\n"));
            var filler = Encoding.UTF8.GetBytes(new string('y', 1023) + "\n");
            for (var written = 0; written <= ProgressTail.MaxScanBytes; written += filler.Length)
            {
                stream.Write(filler);
            }
        }

        var (end, last) = ProgressTail.Scan(big, 0, final: false, Now);
        last.Should().BeNull("the only progress line is further back than the scan looks");
        end.Should().Be(new FileInfo(big).Length);
    }

    private string Write(string text)
    {
        var path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".log");
        File.WriteAllText(path, text);
        return path;
    }
}
