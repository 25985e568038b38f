using VisionPlatform.Training.Subprocess.Monitoring;
using VisionPlatform.Training.Testing;

namespace VisionPlatform.Training.Tests.Subprocess.Monitoring;

/// <summary>The follower that publishes a run's progress and log lines while someone wants them.</summary>
public sealed class RunProgressTrackerTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "vp-progress-tracker", Guid.NewGuid().ToString("N"));

    public RunProgressTrackerTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Following_from_the_start_publishes_every_line_even_after_a_status_read_scanned_the_tail()
    {
        // On a loaded machine the trainer can write its first lines before its launch is recorded; the status published
        // for that launch scans the tail first. The follower must still publish those lines (it once started at the
        // scan's end and a fast two-epoch run published no progress at all).
        var log = Path.Combine(_dir, "train.log");
        await File.WriteAllTextAsync(log,
            "starting\n" +
            TrainingProgressProtocol.Format(1, 2) + "\n" +
            TrainingProgressProtocol.Format(2, 2) + "\n");
        var run = new TrainingRun(TrainingExecutorNames.Subprocess, "job-fast", "job-fast");
        var hub = new TrainingEventHub(TimeProvider.System);
        await using var events = new TrainingEventCollector(hub, new TrainingEventSubscription { JobId = "job-fast", IncludeLogs = true, IncludeCurrentState = false });
        var tracker = new RunProgressTracker(log);

        tracker.Latest(finished: false, Now)!.Epoch.Should().Be(2, "the status read sees the latest progress");
        tracker.StartFollowing(fromStart: true, Now).Should().BeNull("a run followed from its start publishes its lines as they are read");
        tracker.Follow(hub, run, finished: true, Now);

        await events.WaitForAsync(e => e.OfType<TrainingLogEvent>().Count() == 3, TimeSpan.FromSeconds(10));
        events.Events.OfType<TrainingProgressEvent>().Select(e => e.Progress.Epoch).Should().Equal(1, 2);
        events.Events.OfType<TrainingLogEvent>().Select(e => e.Line.Text).Should().StartWith("starting");
    }
}
