namespace VisionPlatform.Training.Tests.Jobs;

public class TrainingRunTests
{
    [Theory]
    [InlineData("subprocess", "job/with:odd chars ü", "res/1")]
    [InlineData("kubernetes", "42", "training/training-job-42")]
    public void Handle_round_trips_through_its_string_form(string executor, string jobId, string resource)
    {
        var run = new TrainingRun(executor, jobId, resource);
        var parsed = TrainingRun.Parse(run.ToString());
        parsed.Should().Be(run);
        parsed.JobId.Should().Be(jobId);
    }

    [Theory]
    [InlineData("")]
    [InlineData("run1/a/b")]
    [InlineData("run2/a/b/c")]
    [InlineData("run1//b/c")]
    public void Malformed_handles_are_rejected(string text)
    {
        TrainingRun.TryParse(text, out _).Should().BeFalse();
        var act = () => TrainingRun.Parse(text);
        act.Should().Throw<FormatException>();
    }
}
