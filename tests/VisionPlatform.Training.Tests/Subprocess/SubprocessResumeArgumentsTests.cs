using System.Text.Json;
using VisionPlatform.Training.Trainers;
using static VisionPlatform.Training.Tests.Subprocess.SubprocessTestContext;

namespace VisionPlatform.Training.Tests.Subprocess;

/// <summary>
/// What a resuming run's real child process receives (probe.py prints its argv and environment): the contract's generic
/// resume flags and the library's own resume setting in the advanced config, for both contracts.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SubprocessResumeArgumentsTests : IAsyncLifetime
{
    private const string Checkpoint = "/data/checkpoints/job 41/weights/last.pt";

    private readonly SubprocessTestContext _ctx = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _ctx.DisposeAsync();

    [Fact]
    public async Task A_resuming_ultralytics_run_gets_the_generic_flags_and_resume_in_its_advanced_config()
    {
        var executor = _ctx.CreateExecutor(_ctx.NewOptions(ProbePy));
        var config = Resuming("job-resume-yolo", TrainingFramework.Ultralytics).Build();

        var run = await executor.StartAsync(config);

        (await WaitTerminalAsync(executor, run)).Phase.Should().Be(TrainingPhase.Succeeded);
        var argv = (await ProbeLineAsync(executor, run, "ARGV ")).EnumerateArray().Select(a => a.GetString()!).ToList();
        argv.Should().Equal(executor.CreateLaunchPlan(config).Arguments.Skip(1));
        argv.Should().ContainInConsecutiveOrder(
            "--checkpoint_path", Checkpoint, "--resume", "--advanced_config", "{\"lr0\":0.02,\"resume\":\"" + Checkpoint + "\"}");
    }

    [Fact]
    public async Task A_resuming_huggingface_run_under_the_json_config_contract_gets_resume_from_checkpoint_in_advanced_config()
    {
        var executor = _ctx.CreateExecutor(_ctx.NewOptions(ProbePy), new JsonConfigTrainerContract());
        var config = Resuming("job-resume-hf", TrainingFramework.HuggingFace).Build();

        var run = await executor.StartAsync(config);

        (await WaitTerminalAsync(executor, run)).Phase.Should().Be(TrainingPhase.Succeeded);
        var argv = (await ProbeLineAsync(executor, run, "ARGV ")).EnumerateArray().Select(a => a.GetString()!).ToList();
        var env = await ProbeLineAsync(executor, run, "ENV ");
        var text = argv[argv.IndexOf("--config") + 1];
        env.GetProperty("CONFIG").GetString().Should().Be(text);
        using var json = JsonDocument.Parse(text);
        json.RootElement.GetProperty("checkpoint_path").GetString().Should().Be(Checkpoint);
        json.RootElement.GetProperty("resume").GetBoolean().Should().BeTrue();
        json.RootElement.GetProperty("advanced_config").EnumerateObject().Select(p => $"{p.Name}={p.Value}")
            .Should().Equal("lr0=0.02", "resume_from_checkpoint=" + Checkpoint);
    }

    [Fact]
    public async Task A_resuming_custom_framework_run_gets_only_the_generic_flags()
    {
        var executor = _ctx.CreateExecutor(_ctx.NewOptions(ProbePy));
        var run = await executor.StartAsync(Resuming("job-resume-custom", "custom-detector").Build());

        (await WaitTerminalAsync(executor, run)).Phase.Should().Be(TrainingPhase.Succeeded);
        var argv = (await ProbeLineAsync(executor, run, "ARGV ")).EnumerateArray().Select(a => a.GetString()!).ToList();
        argv.Should().ContainInConsecutiveOrder("--checkpoint_path", Checkpoint, "--resume", "--advanced_config", "{\"lr0\":0.02}");
    }

    private static TrainingJobConfigBuilder Resuming(string jobId, TrainingFramework framework)
    {
        var builder = Job(jobId);
        builder.Framework = framework;
        builder.CheckpointPath = Checkpoint;
        builder.Resume = true;
        builder.AdvancedConfig = "{\"lr0\":0.02}";
        return builder;
    }

    private static async Task<JsonElement> ProbeLineAsync(ITrainingExecutor executor, TrainingRun run, string prefix)
    {
        var line = (await ReadLogAsync(executor, run)).First(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return JsonDocument.Parse(line[prefix.Length..]).RootElement.Clone();
    }
}
