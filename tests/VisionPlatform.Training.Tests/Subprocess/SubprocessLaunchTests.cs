using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using VisionPlatform.Training.Subprocess;
using VisionPlatform.Training.Trainers;
using static VisionPlatform.Training.Tests.Subprocess.SubprocessTestContext;

namespace VisionPlatform.Training.Tests.Subprocess;

public sealed class SubprocessLaunchTests : IAsyncLifetime
{
    private readonly SubprocessTestContext _ctx = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _ctx.DisposeAsync();

    [Fact]
    public async Task A_job_runs_train_py_to_success_with_the_contract_arguments_and_its_own_output_directory()
    {
        var executor = _ctx.CreateExecutor();
        var config = Job("job-success", epochs: 2).Build();

        var run = await executor.StartAsync(config);
        var status = await WaitTerminalAsync(executor, run);

        status.Phase.Should().Be(TrainingPhase.Succeeded, status.Message);
        status.Reason.Should().Be(TrainingStatusReasons.Completed);
        status.ExitCode.Should().Be(0);
        status.StartedAt.Should().NotBeNull();
        status.FinishedAt.Should().BeOnOrAfter(status.StartedAt!.Value);
        run.ExecutorName.Should().Be(TrainingExecutorNames.Subprocess);
        var dir = _ctx.RunDirectory(run);
        File.Exists(Path.Combine(dir, "state.json")).Should().BeTrue();
        File.Exists(Path.Combine(dir, "train.log")).Should().BeTrue();
        File.Exists(Path.Combine(dir, "output", "metrics.json")).Should().BeTrue();
        using var runJson = _ctx.TryReadRunJson(run)!;
        var argv = runJson.RootElement.GetProperty("argv").EnumerateArray().Select(a => a.GetString()).ToList();
        argv.Should().Equal(new FlagTrainerContract().CreateInvocation(config, new TrainerLaunchContext { OutputDirectory = Path.Combine(dir, "output") }).Arguments);
        var log = await ReadLogAsync(executor, run);
        log.Count(l => l.StartsWith("VP_PROGRESS ", StringComparison.Ordinal)).Should().Be(2);
    }

    [Fact]
    public async Task Hostile_values_reach_train_py_byte_for_byte()
    {
        var executor = _ctx.CreateExecutor();
        var hostile = "a \"quoted\" 'value'; rm -rf / $(touch pwned) `id` & | > < * ? ~ \\ ünïcødé 日本語 🚀";
        var advanced = new StringBuilder("{\"note\": ").Append(JsonSerializer.Serialize(hostile + "\n\t$(x)")).Append(",\n  \"pad\": [");
        for (var i = 0; advanced.Length < 10_240; i++)
        {
            advanced.Append(i == 0 ? "" : ", ").Append(JsonSerializer.Serialize($"item {i} {hostile}"));
        }

        advanced.Append("]}");
        var builder = Job("job with spaces; $(echo hi) `id` 'q' \"dq\" ünï", epochs: 1);
        builder.ModelName = hostile;
        builder.DatasetPath = "line one\nline two\r\n$(whoami)\t`uname`";
        builder.ProjectId = "proj $HOME ${PATH} %PATH%";
        builder.AdvancedConfig = advanced.ToString();
        var config = builder.Build();
        config.AdvancedConfig!.Length.Should().BeGreaterThan(10_000);

        var run = await executor.StartAsync(config);
        await WaitTerminalAsync(executor, run);

        using var runJson = await PollAsync(() => _ctx.TryReadRunJson(run), what: "run.json");
        var argv = runJson.RootElement.GetProperty("argv").EnumerateArray().Select(a => a.GetString()).ToList();
        var expected = executor.CreateLaunchPlan(config).Arguments.Skip(1).ToList();
        argv.Should().Equal(expected);
        argv.Should().Contain(hostile).And.Contain(config.DatasetPath).And.Contain(config.AdvancedConfig).And.Contain(config.JobId);
        File.Exists(Path.Combine(_ctx.RunDirectory(run), "pwned")).Should().BeFalse();
        File.Exists("pwned").Should().BeFalse();
    }

    [Fact]
    public async Task The_child_gets_the_allow_list_and_platform_variables_but_never_other_host_secrets()
    {
        var secretName = "VP_TEST_HOST_SECRET_" + Guid.NewGuid().ToString("N");
        var secretValue = "host-secret-" + Guid.NewGuid().ToString("N");
        var storageSecret = "storage-secret-" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(secretName, secretValue);
        try
        {
            var options = _ctx.NewOptions();
            options.Trainer.StorageSecretAccessKey = storageSecret;
            options.Trainer.StorageAccessKeyId = "key-id";
            options.Trainer.StorageEndpointUrl = "http://127.0.0.1:9000";
            options.Trainer.BackendApiUrl = "http://backend.local/api";
            options.Subprocess.Environment["PLAIN_SETTING"] = "plain";
            var logs = new FakeLogCollector();
            using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(new FakeLoggerProvider(logs)).SetMinimumLevel(LogLevel.Trace));
            await using var executor = new SubprocessTrainingExecutor(
                Options.Create(options), new FlagTrainerContract(), TimeProvider.System, loggerFactory.CreateLogger<SubprocessTrainingExecutor>());
            var builder = Job("job-env", epochs: 1);
            builder.Environment["JOB_SETTING"] = "from-job";
            var config = builder.Build();

            var plan = executor.CreateLaunchPlan(config);
            var run = await executor.StartAsync(config);
            var status = await WaitTerminalAsync(executor, run);

            status.Phase.Should().Be(TrainingPhase.Succeeded, status.Message);
            using var runJson = _ctx.TryReadRunJson(run)!;
            var names = runJson.RootElement.GetProperty("env_names").EnumerateArray().Select(e => e.GetString()!).ToList();
            names.Should().NotContain(secretName);
            names.Should().Contain(["PATH", "CUDA_VISIBLE_DEVICES", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_S3_ENDPOINT_URL", "BACKEND_API_URL", "PLAIN_SETTING", "JOB_SETTING"]);
            names.Should().NotContain("MLFLOW_TRACKING_URI", "it is not configured");

            // Python adds nothing of its own to os.environ except what it was given (LC_CTYPE coercion aside).
            names.Except(["LC_CTYPE"]).Should().BeEquivalentTo(plan.EnvironmentNames);
            plan.Environment.Single(e => e.Name == "AWS_SECRET_ACCESS_KEY").IsWithheld.Should().BeTrue();
            plan.Environment.Single(e => e.Name == "CUDA_VISIBLE_DEVICES").Value.Should().Be("-1");
            plan.Environment.Single(e => e.Name == "PLAIN_SETTING").Value.Should().Be("plain");
            plan.ToString().Should().NotContain(storageSecret).And.NotContain("key-id").And.Contain("AWS_SECRET_ACCESS_KEY=(withheld)");
            logs.GetSnapshot().Should().NotBeEmpty();
            logs.GetSnapshot().Select(r => r.Message + r.Exception).Should().NotContain(m => m.Contains(storageSecret) || m.Contains(secretValue));
            File.ReadAllText(Path.Combine(_ctx.RunDirectory(run), "state.json")).Should().NotContain(storageSecret);
        }
        finally
        {
            Environment.SetEnvironmentVariable(secretName, null);
        }
    }

    [Fact]
    public async Task The_child_runs_in_the_run_directory_with_stdin_from_dev_null_and_exact_environment_values()
    {
        var options = _ctx.NewOptions(ProbePy);
        options.Subprocess.Gpus.Add(3);
        options.Subprocess.Gpus.Add(5);
        var executor = _ctx.CreateExecutor(options);
        var builder = Job("job-probe");
        builder.Resources = new TrainingResources { Gpus = 2 };
        builder.Environment["WEIRD"] = "a=b; $(c) `d`\n\"e\"";
        var run = await executor.StartAsync(builder.Build());
        (await WaitTerminalAsync(executor, run)).Phase.Should().Be(TrainingPhase.Succeeded);

        var log = await ReadLogAsync(executor, run);
        var env = JsonDocument.Parse(log.Single(l => l.StartsWith("ENV ", StringComparison.Ordinal))[4..]).RootElement;
        env.GetProperty("CUDA_VISIBLE_DEVICES").GetString().Should().Be("3,5");
        env.GetProperty("WEIRD").GetString().Should().Be("a=b; $(c) `d`\n\"e\"");
        log.Should().Contain("CWD " + _ctx.RunDirectory(run));
    }

    [Fact]
    public void Launch_plan_has_no_side_effects_and_starts_with_the_script()
    {
        var options = _ctx.NewOptions();
        options.Subprocess.Interpreter = "python3";
        var executor = _ctx.CreateExecutor(options);
        var config = Job("job-plan").Build();

        var plan = executor.CreateLaunchPlan(config);

        plan.FileName.Should().EndWith("/python3");
        Path.IsPathFullyQualified(plan.FileName).Should().BeTrue();
        plan.Arguments[0].Should().Be(TrainPy);
        plan.Arguments.Should().Contain("--output_dir").And.Contain(Path.Combine(plan.WorkingDirectory, "output"));
        plan.EnvironmentNames.Should().Contain("CUDA_VISIBLE_DEVICES");
        Directory.Exists(_ctx.RunsDirectory).Should().BeFalse("creating a plan must not touch the disk");
    }

    [Fact]
    public async Task Unknown_runs_are_NotFound_and_their_logs_throw_RunNotFound()
    {
        var executor = _ctx.CreateExecutor();
        var run = new TrainingRun(TrainingExecutorNames.Subprocess, "nope", "nope-0123456789abcdef");

        (await executor.GetStatusAsync(run)).Phase.Should().Be(TrainingPhase.NotFound);
        (await executor.GetStatusAsync(new TrainingRun(TrainingExecutorNames.Subprocess, "x", "../../etc"))).Phase.Should().Be(TrainingPhase.NotFound);
        (await executor.StopAsync(run)).Phase.Should().Be(TrainingPhase.NotFound);
        (await executor.FindAsync("nope")).Should().BeNull();
        var read = async () => await ReadLogAsync(executor, run);
        (await read.Should().ThrowAsync<TrainingException>()).Which.Code.Should().Be(TrainingErrorCode.RunNotFound);
    }
}
