using VisionPlatform.Training.Storage;
using VisionPlatform.Training.Testing;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>Reading archived chunks back as <see cref="TrainingLogLine"/>s: node rank, attempts, Since, TailLines, timestamps.</summary>
public sealed class ArchivedLogReaderTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Lines_come_from_the_node_asked_for_latest_attempt_or_every_attempt_with_the_options_applied()
    {
        var archive = new InMemoryRunLogArchive();
        await Write(archive, attempt: 1, rank: 0, sequence: 0, ("a1 r0 first", 0), ("a1 r0 second", 1));
        await Write(archive, attempt: 1, rank: 0, sequence: 1, ("a1 r0 third", 2), ("", 2));
        await Write(archive, attempt: 2, rank: 0, sequence: 0, ("a2 r0 first", 10), ("a2 r0 second", 11), ("a2 r0 third", 12));
        await Write(archive, attempt: 2, rank: 1, sequence: 0, ("a2 r1 only", 10));

        (await Read(archive, new TrainingLogOptions())).Should().Equal(
            new TrainingLogLine("a2 r0 first", null, 2), new TrainingLogLine("a2 r0 second", null, 2), new TrainingLogLine("a2 r0 third", null, 2));

        var all = await Read(archive, new TrainingLogOptions { AllAttempts = true, Timestamps = true });
        all.Select(l => (l.Text, l.Attempt)).Should().Equal(
            ("a1 r0 first", 1), ("a1 r0 second", 1), ("a1 r0 third", 1), ("", 1), ("a2 r0 first", 2), ("a2 r0 second", 2), ("a2 r0 third", 2));
        all[1].Timestamp.Should().Be(T0.AddSeconds(1).AddTicks(1234567));

        (await Read(archive, new TrainingLogOptions { NodeRank = 1 })).Should().Equal(new TrainingLogLine("a2 r1 only", null, 2));
        (await Read(archive, new TrainingLogOptions { AllAttempts = true, TailLines = 2 })).Select(l => l.Text).Should().Equal("a2 r0 second", "a2 r0 third");
        (await Read(archive, new TrainingLogOptions { TailLines = 0 })).Should().BeEmpty();
        (await Read(archive, new TrainingLogOptions { AllAttempts = true, Since = T0.AddSeconds(11) })).Select(l => l.Text).Should().Equal("a2 r0 second", "a2 r0 third");
        (await Read(archive, new TrainingLogOptions { NodeRank = 5 })).Should().BeEmpty();
        (await new ArchivedLogReader(archive, "job", new TrainingLogOptions { NodeRank = 5 }).HasLogAsync(CancellationToken.None)).Should().BeFalse();
    }

    [Fact]
    public void Archived_lines_keep_their_timestamp_to_100_ns_and_lines_without_one_stay_as_they_are()
    {
        var at = T0.AddTicks(1);
        PodLogArchiver.Format(at, "text with  spaces").Should().Be("2026-12-07T10:00:00.0000001Z text with  spaces\n");
        PodLogLine.Parse(PodLogArchiver.Format(at, "x").TrimEnd('\n')).Should().Be(((DateTimeOffset?)at, "x"));
        PodLogArchiver.Format(null, "no timestamp").Should().Be("no timestamp\n");
    }

    private static Task Write(IRunLogArchive archive, int attempt, int rank, long sequence, params (string Text, int Second)[] lines) =>
        archive.WriteLogChunkAsync(new RunLogChunk("job", attempt, rank, sequence,
            string.Concat(lines.Select(l => PodLogArchiver.Format(T0.AddSeconds(l.Second).AddTicks(1234567), l.Text)))));

    private static async Task<List<TrainingLogLine>> Read(IRunLogArchive archive, TrainingLogOptions options) =>
        await new ArchivedLogReader(archive, "job", options).ReadAsync(CancellationToken.None).ToListAsync();
}
