namespace VisionPlatform.Training.QuickStart.Tests;

// Flags and bad input: System.CommandLine's parsing and help, and exactly one line on stderr for each problem.
public sealed class CommandLineTests
{
    [Fact]
    public async Task Help_comes_from_System_CommandLine_and_lists_every_flag()
    {
        var result = await QuickStartProcess.RunAsync(["--help"]);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Error.Should().BeEmpty();
        result.Output.Should().Contain("Usage:").And.Contain("Options:");
        foreach (var flag in new[] { "--executor", "--no-fallback", "--dry-run", "--verbose", "--job-id", "--epochs", "--gpus", "--output-dir", "--advanced-config", "--env", "--print-cluster-setup" })
        {
            result.Output.Should().Contain(flag);
        }

        result.Output.Should().Contain("[default: 5]", "defaults are shown from DefaultValueFactory");
    }

    [Fact]
    public async Task Version_prints_the_version_and_starts_nothing()
    {
        var result = await QuickStartProcess.RunAsync(["--version"]);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Output.Should().MatchRegex(@"^\d+\.\d+\.\d+").And.NotContain("started job");
    }

    [Fact]
    public async Task An_unknown_flag_is_exit_2_with_one_line_naming_it()
    {
        var result = await QuickStartProcess.RunAsync(["--epochz", "3"]);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Output.Should().BeEmpty();
        result.ErrorLines.Should().ContainSingle().Which.Should().Contain("--epochz");
    }

    [Theory]
    [InlineData("--epochs", "abc", "--epochs: ")]
    [InlineData("--epochs", "0", "--epochs: value '0' is invalid: must be between 1 and 100000")]
    [InlineData("--executor", "mainframe", "--executor: ")]
    [InlineData("--learning-rate", "fast", "--learning-rate: ")]
    public async Task A_bad_value_is_exit_2_with_one_line_starting_with_the_flag(string flag, string value, string expected)
    {
        var result = await QuickStartProcess.RunAsync([flag, value]);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Output.Should().BeEmpty();
        result.ErrorLines.Should().ContainSingle().Which.Should().StartWith(expected);
    }

    [Fact]
    public async Task The_kubernetes_dry_run_prints_the_job_yaml_alone_and_needs_no_cluster()
    {
        var result = await QuickStartProcess.RunAsync(["--executor", "kubernetes", "--dry-run", "--gpus", "1"]);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Output.Should().StartWith("apiVersion: batch/v1\nkind: Job\n");
        result.Error.Should().BeEmpty("the unreachable cluster's retries are not shown without --verbose");
    }
}
