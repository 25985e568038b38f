using System.Text.Json;
using VisionPlatform.Training.Trainers;
using static VisionPlatform.Training.Tests.Subprocess.SubprocessTestContext;

namespace VisionPlatform.Training.Tests.Subprocess.Security;

/// <summary>
/// Issue 13, findings 3 and 5 (subprocess side): the job environment policy and the size of an advanced config.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class JobInputLimitTests : IAsyncLifetime
{
    private readonly SubprocessTestContext _ctx = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _ctx.DisposeAsync();

    [Theory]
    [InlineData("LD_PRELOAD", "loader")]
    [InlineData("LD_LIBRARY_PATH", "loader")]
    [InlineData("PYTHONPATH", "interpreter")]
    [InlineData("PYTHONHOME", "interpreter")]
    [InlineData("PYTHONWARNINGS", "interpreter")]
    [InlineData("BROWSER", "interpreter")]
    [InlineData("PATH", "interpreter")]
    [InlineData("HOME", "interpreter")]
    [InlineData("HTTPS_PROXY", "proxy")]
    [InlineData("https_proxy", "proxy")]
    [InlineData("NO_PROXY", "proxy")]
    [InlineData("AWS_ENDPOINT_URL_S3", "credential or endpoint")]
    [InlineData("AWS_CONFIG_FILE", "credential or endpoint")]
    [InlineData("AWS_CA_BUNDLE", "credential or endpoint")]
    [InlineData("NVIDIA_VISIBLE_DEVICES", "device-visibility")]
    [InlineData("CUDA_VISIBLE_DEVICES", "reserved")]
    [InlineData("VP_RUN_MARKER", "reserved")]
    public void A_job_may_not_set_loader_interpreter_proxy_credential_endpoint_or_device_variables(string name, string rule)
    {
        var builder = Job("job-env-" + name.ToLowerInvariant());
        builder.Environment[name] = "value";

        var error = FluentActions.Invoking(() => builder.Build()).Should().Throw<TrainingValidationException>()
            .Which.Errors.Should().ContainSingle().Which;

        error.Field.Should().Be($"Environment[{name}]");
        error.Rule.Should().Contain(rule);
        error.Value.Should().BeNull("environment values are never echoed");
    }

    [Fact]
    public void An_operator_may_allow_more_names_but_never_reserved_ones()
    {
        var policy = new TrainingEnvironmentPolicy(["HF_TOKEN", "AWS_ACCESS_KEY_ID"]);
        var allowed = Job("job-env-allowed");
        allowed.EnvironmentPolicy = policy;
        allowed.Environment["HF_TOKEN"] = "t";
        var reserved = Job("job-env-reserved");
        reserved.EnvironmentPolicy = policy;
        reserved.Environment["AWS_ACCESS_KEY_ID"] = "k";

        allowed.Build().Environment.Should().ContainKey("HF_TOKEN");
        FluentActions.Invoking(() => reserved.Build()).Should().Throw<TrainingValidationException>()
            .Which.Errors.Single().Rule.Should().Contain("reserved");
        FluentActions.Invoking(() => { var b = Job("job-env-default"); b.Environment["HF_TOKEN"] = "t"; b.Build(); })
            .Should().Throw<TrainingValidationException>().Which.Errors.Single().Rule.Should().Contain("Training:Environment:AllowedJobVariables");
    }

    [Fact]
    public async Task The_operators_environment_wins_over_the_jobs()
    {
        var options = _ctx.NewOptions(ProbePy);
        options.Subprocess.Environment["OPTION_VALUE"] = "operator";
        var executor = _ctx.CreateExecutor(options);
        var builder = Job("job-env-merge");
        builder.Environment["OPTION_VALUE"] = "job";
        builder.Environment["JOB_ONLY"] = "job";

        var run = await executor.StartAsync(builder.Build());
        (await WaitTerminalAsync(executor, run)).Phase.Should().Be(TrainingPhase.Succeeded);
        var environment = await ProbeLineAsync(executor, run, "ENV ");

        environment.GetProperty("OPTION_VALUE").GetString().Should().Be("operator");
        environment.GetProperty("JOB_ONLY").GetString().Should().Be("job");
    }

    [Fact]
    public async Task An_advanced_config_larger_than_one_argument_is_refused_by_the_flags_contract_with_the_limit_named()
    {
        var executor = _ctx.CreateExecutor(ProbePy);
        var job = Job("job-big-flags", knobs: new { blob = new string('x', 200_000) }).Build();

        var error = (await FluentActions.Awaiting(() => executor.StartAsync(job)).Should().ThrowAsync<TrainingValidationException>()).Which;

        var rule = error.Errors.Should().ContainSingle(e => e.Field == "AdvancedConfig").Which.Rule;
        rule.Should().Contain("131053").And.Contain("MAX_ARG_STRLEN").And.Contain("--config @path");
        Directory.Exists(Path.Combine(_ctx.RunsDirectory, VisionPlatform.Training.Subprocess.Runs.RunPaths.NameFor(job.JobId))).Should().BeFalse();
    }

    [Fact]
    public async Task An_advanced_config_of_exactly_the_limit_reaches_the_trainer_byte_for_byte()
    {
        var executor = _ctx.CreateExecutor(ProbePy);
        // 131053 bytes of UTF-8, two-byte characters included: the limit counts bytes, not characters.
        const string Prefix = "{\"blob\":\"";
        var wide = new string('é', 1000);
        var text = Prefix + wide + new string('x', 131053 - Prefix.Length - 2000 - 2) + "\"}";
        var builder = Job("job-limit-flags");
        builder.AdvancedConfig = text;

        var run = await executor.StartAsync(builder.Build());
        (await WaitTerminalAsync(executor, run)).Phase.Should().Be(TrainingPhase.Succeeded);
        var argv = await ProbeLineAsync(executor, run, "ARGV ");

        System.Text.Encoding.UTF8.GetByteCount(text).Should().Be(131053);
        argv.EnumerateArray().Select(a => a.GetString()).Should().ContainInOrder("--advanced_config", text);
    }

    [Fact]
    public async Task The_json_config_contract_passes_a_config_larger_than_one_argument_as_a_private_file()
    {
        var executor = _ctx.CreateExecutor(_ctx.NewOptions(ProbePy), new JsonConfigTrainerContract());
        var run = await executor.StartAsync(Job("job-big-json", knobs: new { blob = new string('x', 300_000) }).Build());

        (await WaitTerminalAsync(executor, run)).Phase.Should().Be(TrainingPhase.Succeeded);
        var argv = (await ProbeLineAsync(executor, run, "ARGV ")).EnumerateArray().Select(a => a.GetString()!).ToList();
        var configFile = Path.Combine(_ctx.RunDirectory(run), "config.json");

        argv[argv.IndexOf("--config") + 1].Should().Be("@" + configFile);
        File.GetUnixFileMode(configFile).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        using var config = JsonDocument.Parse(File.ReadAllText(configFile));
        config.RootElement.GetProperty("advanced_config").GetProperty("blob").GetString().Should().HaveLength(300_000);
    }

    private static async Task<JsonElement> ProbeLineAsync(ITrainingExecutor executor, TrainingRun run, string prefix)
    {
        var line = (await ReadLogAsync(executor, run)).First(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return JsonDocument.Parse(line[prefix.Length..]).RootElement.Clone();
    }
}
