namespace VisionPlatform.Training.Storage.Tests;

public sealed class ArtifactKeysTests
{
    [Theory]
    [InlineData("job-42", "job-42")]
    [InlineData("Run_1.final", "Run_1.final")]
    [InlineData("a/b", "a~2Fb")]
    [InlineData("..", "~2E.")]
    [InlineData(".hidden", "~2Ehidden")]
    [InlineData("50%~done", "50~25~7Edone")]
    [InlineData("job 42", "job~2042")]
    [InlineData("ü", "~C3~BC")]
    [InlineData("🚀", "~F0~9F~9A~80")]
    public void Job_ids_escape_to_one_safe_segment_and_back(string jobId, string expected)
    {
        var segment = ArtifactKeys.EscapeJobId(jobId);

        segment.Should().Be(expected);
        segment.Should().MatchRegex("^[A-Za-z0-9._~-]+$").And.NotBe(".").And.NotBe("..");
        ArtifactKeys.TryUnescapeJobId(segment, out var back).Should().BeTrue();
        back.Should().Be(jobId);
    }

    [Fact]
    public void Different_ids_never_share_a_segment()
    {
        var ids = new[] { "a/b", "a~2Fb", "a%2Fb", "A/B", "a b", "a+b", "a\tb", "ab", "a.b", ".ab" };
        ids.Select(ArtifactKeys.EscapeJobId).Should().OnlyHaveUniqueItems();
    }

    [Fact]
    public void Very_long_ids_get_a_readable_start_and_a_hash()
    {
        var longA = new string('x', 150) + new string('ü', 100) + "a";
        var longB = new string('x', 150) + new string('ü', 100) + "b";

        var a = ArtifactKeys.EscapeJobId(longA);
        var b = ArtifactKeys.EscapeJobId(longB);

        a.Should().NotBe(b);
        a.Length.Should().BeLessThanOrEqualTo(100 + 2 + 64);
        a.Should().StartWith(new string('x', 100)).And.MatchRegex("~h[0-9a-f]{64}$");
        ArtifactKeys.TryUnescapeJobId(a, out _).Should().BeFalse("a hashed segment cannot be reversed");

        var cutInEscape = ArtifactKeys.EscapeJobId(new string('x', 98) + new string('ü', 60));
        cutInEscape.Should().MatchRegex("^x{98}~h[0-9a-f]{64}$", "the readable part never ends inside an escape");
    }

    [Theory]
    [InlineData("a~2")]
    [InlineData("a~zz")]
    [InlineData("a~2f")]
    [InlineData("a b")]
    [InlineData("a~62")]
    [InlineData(".a")]
    public void Segments_not_made_by_the_escaper_are_refused(string segment) =>
        ArtifactKeys.TryUnescapeJobId(segment, out _).Should().BeFalse();

    [Fact]
    public void Run_prefixes_join_the_configured_prefix_and_the_segment()
    {
        ArtifactKeys.RunPrefix("jobs", "a/b").Should().Be("jobs/a~2Fb/");
        ArtifactKeys.RunPrefix(string.Empty, "a").Should().Be("a/");
        var lone = () => ArtifactKeys.EscapeJobId("a\ud800b");
        lone.Should().Throw<ArgumentException>().WithMessage("*surrogate*");
    }

    [Theory]
    [InlineData("weights/best.pt", true)]
    [InlineData("metrics.json", true)]
    [InlineData("/abs", false)]
    [InlineData("a//b", false)]
    [InlineData("a/../b", false)]
    [InlineData("./a", false)]
    [InlineData("a\\b", false)]
    [InlineData("dir/", false)]
    [InlineData("", false)]
    public void Relative_paths_follow_the_rules(string path, bool valid) =>
        ArtifactLayout.IsValidRelativePath(path, out _).Should().Be(valid);
}
