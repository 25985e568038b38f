
namespace VisionPlatform.Training.Kubernetes.Tests;

public class PodLogLineTests
{
    [Theory]
    [InlineData("2026-04-26T18:35:42.123456789Z epoch 1 loss 0.5", "epoch 1 loss 0.5", 1234567)]
    [InlineData("2026-04-26T18:35:42Z hello", "hello", 0)]
    [InlineData("2026-04-26T18:35:42.5+00:00 x y", "x y", 5000000)]
    [InlineData("2026-04-26T18:35:42.000000001Z ", "", 0)]
    public void The_timestamp_is_split_from_the_text(string raw, string text, long ticks)
    {
        var (timestamp, rest) = PodLogLine.Parse(raw);
        rest.Should().Be(text);
        timestamp.Should().Be(new DateTimeOffset(2026, 4, 26, 18, 35, 42, TimeSpan.Zero).AddTicks(ticks));
    }

    [Theory]
    [InlineData("no timestamp here")]
    [InlineData("2026-13-45Tbad line")]
    [InlineData("")]
    public void Lines_without_a_timestamp_are_kept_whole(string raw)
    {
        var (timestamp, text) = PodLogLine.Parse(raw);
        timestamp.Should().BeNull();
        text.Should().Be(raw);
    }
}
