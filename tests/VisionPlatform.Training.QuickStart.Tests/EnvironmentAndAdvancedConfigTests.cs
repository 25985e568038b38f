namespace VisionPlatform.Training.QuickStart.Tests;

// Issue 13 item 9: --env NAME=VALUE and --advanced-config @file let the SDK's environment policy and the advanced-config
// limit be tried from a shell; each refusal is exit code 2 and one line naming the rule.
public sealed class EnvironmentAndAdvancedConfigTests : IDisposable
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("vp-quickstart-env-");

    public void Dispose() => _work.Delete(recursive: true);

    private string Runs => Path.Combine(_work.FullName, "runs");

    private string WriteFile(string name, string text)
    {
        var path = Path.Combine(_work.FullName, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Theory]
    [InlineData("LD_PRELOAD=x")]
    [InlineData("PYTHONPATH=/tmp/evil")]
    [InlineData("HTTPS_PROXY=http://proxy.invalid:3128")]
    public async Task A_refused_environment_variable_is_exit_2_with_one_line_naming_it_and_the_rule(string variable)
    {
        var result = await QuickStartProcess.RunAsync(["--env", variable, "--output-dir", Runs]);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Output.Should().BeEmpty("nothing was started");
        var name = variable[..variable.IndexOf('=', StringComparison.Ordinal)];
        result.ErrorLines.Should().ContainSingle().Which.Should().StartWith($"--env[{name}]").And.Contain("which a job may not set");
    }

    [Fact]
    public async Task An_env_value_without_a_name_is_exit_2_naming_the_flag()
    {
        var result = await QuickStartProcess.RunAsync(["--env", "NOEQUALS"]);

        result.ExitCode.Should().Be(2, result.ToString());
        result.ErrorLines.Should().ContainSingle().Which.Should().StartWith("--env: ").And.Contain("NAME=VALUE");
    }

    [Fact]
    public async Task An_allowed_variable_and_an_advanced_config_file_reach_the_trainer_and_the_run_succeeds()
    {
        var config = WriteFile("small.json", """{ "epoch_seconds": 0.05 }""");

        var dryRun = await QuickStartProcess.RunAsync(["--env", "MY_FLAG=1", "--env", "OTHER=a=b", "--advanced-config", "@" + config, "--dry-run", "--output-dir", Runs]);
        dryRun.ExitCode.Should().Be(0, dryRun.ToString());
        dryRun.Output.Should().Contain("  MY_FLAG (from").And.Contain("  OTHER (from").And.Contain("epoch_seconds");

        var run = await QuickStartProcess.RunAsync(["--epochs", "1", "--env", "MY_FLAG=1", "--advanced-config", "@" + config, "--output-dir", Runs]);
        run.ExitCode.Should().Be(0, run.ToString());
        run.Error.Should().BeEmpty(run.ToString());
        run.Output.Should().Contain("status: Succeeded (Completed, exit code 0)");
    }

    [Fact]
    public async Task An_advanced_config_file_over_what_one_argument_carries_is_exit_2_naming_the_limit()
    {
        var config = WriteFile("large.json", "{\"blob\":\"" + new string('x', 129 * 1024) + "\"}");

        var result = await QuickStartProcess.RunAsync(["--advanced-config", "@" + config, "--output-dir", Runs]);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Output.Should().BeEmpty("nothing was started");
        result.ErrorLines.Should().ContainSingle().Which.Should().StartWith("--advanced-config").And.Contain("must be at most 131053 bytes").And.Contain("128 KiB");
    }

    [Fact]
    public async Task Plain_json_is_still_accepted_and_a_missing_file_is_exit_2_naming_the_flag()
    {
        var plain = await QuickStartProcess.RunAsync(["--advanced-config", """{"epoch_seconds":0.05}""", "--dry-run", "--output-dir", Runs]);
        plain.ExitCode.Should().Be(0, plain.ToString());
        plain.Output.Should().Contain("epoch_seconds");

        var missing = await QuickStartProcess.RunAsync(["--advanced-config", "@" + Path.Combine(_work.FullName, "nope.json")]);
        missing.ExitCode.Should().Be(2, missing.ToString());
        missing.ErrorLines.Should().ContainSingle().Which.Should().StartWith("--advanced-config: cannot read");
    }
}
