using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using VisionPlatform.Training.Storage;
using VisionPlatform.Training.Subprocess;
using VisionPlatform.Training.Trainers;
using static VisionPlatform.Training.Tests.Subprocess.SubprocessTestContext;

namespace VisionPlatform.Training.Tests.Subprocess;

/// <summary>
/// With an artifact store, the trainer process is told where its run's artifacts belong (<c>VP_ARTIFACT_BUCKET</c>,
/// <c>VP_ARTIFACT_PREFIX</c>), exactly as a Kubernetes pod is; without one it is told nothing; nobody may configure them.
/// </summary>
public sealed class SubprocessArtifactEnvironmentTests : IAsyncLifetime
{
    private const string StorageSecret = "never-in-the-environment-0xdeadbeef";

    private readonly SubprocessTestContext _ctx = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _ctx.DisposeAsync();

    [Fact]
    public async Task A_real_trainer_process_sees_the_bucket_and_its_run_prefix()
    {
        using var store = Store();
        var options = _ctx.NewOptions(ProbePy);
        options.Subprocess.UploadArtifacts = false; // Only the environment is under test; nothing is sent to the (absent) server.
        var executor = _ctx.Track(new SubprocessTrainingExecutor(Options.Create(options), new FlagTrainerContract(), artifactStore: store));
        var config = Job("Job 7/ä").Build();

        var plan = executor.CreateLaunchPlan(config);
        var run = await executor.StartAsync(config);
        (await WaitTerminalAsync(executor, run)).Phase.Should().Be(TrainingPhase.Succeeded);

        var log = await ReadLogAsync(executor, run);
        var env = JsonDocument.Parse(log.Single(l => l.StartsWith("ENV ", StringComparison.Ordinal))[4..]).RootElement;
        env.GetProperty("VP_ARTIFACT_BUCKET").GetString().Should().Be("vision-artifacts");
        env.GetProperty("VP_ARTIFACT_PREFIX").GetString().Should().Be(store.GetRunPrefix("Job 7/ä")).And.StartWith("tenants/acme/").And.EndWith("/");
        env.EnumerateObject().Select(p => p.Value.GetString()).Should().NotContain(v => v != null && v.Contains(StorageSecret));

        var shown = plan.Environment.Where(e => e.Source == "storage").ToDictionary(e => e.Name, e => e.Value);
        shown.Should().BeEquivalentTo(new Dictionary<string, string?>
        {
            [ArtifactEnvironment.BucketVariable] = "vision-artifacts",
            [ArtifactEnvironment.PrefixVariable] = store.GetRunPrefix("Job 7/ä"),
        });
    }

    [Fact]
    public async Task Without_a_store_the_trainer_process_gets_neither_variable()
    {
        var executor = _ctx.CreateExecutor(ProbePy);
        var config = Job("job-no-store").Build();

        var run = await executor.StartAsync(config);
        (await WaitTerminalAsync(executor, run)).Phase.Should().Be(TrainingPhase.Succeeded);

        var log = await ReadLogAsync(executor, run);
        var env = JsonDocument.Parse(log.Single(l => l.StartsWith("ENV ", StringComparison.Ordinal))[4..]).RootElement;
        env.TryGetProperty("VP_ARTIFACT_BUCKET", out _).Should().BeFalse();
        env.TryGetProperty("VP_ARTIFACT_PREFIX", out _).Should().BeFalse();
        executor.CreateLaunchPlan(config).EnvironmentNames.Should().NotContain(ArtifactEnvironment.Names);
    }

    [Fact]
    public void The_DI_registered_executor_uses_the_registered_store()
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o =>
        {
            o.DefaultExecutor = TrainingExecutorNames.Subprocess;
            o.Subprocess.Interpreter = Python;
            o.Subprocess.Script = ProbePy;
            o.Subprocess.RunsDirectory = _ctx.RunsDirectory;
        }).AddSubprocess().AddArtifactStorage(ConfigureStore);
        using var provider = services.BuildServiceProvider();
        var executor = (SubprocessTrainingExecutor)provider.GetRequiredKeyedService<ITrainingExecutor>(TrainingExecutorNames.Subprocess);

        var plan = executor.CreateLaunchPlan(Job("job-di").Build());

        plan.Environment.Should().ContainEquivalentOf(new SubprocessEnvironmentVariable("VP_ARTIFACT_PREFIX", "tenants/acme/job-di/", "storage"));
        plan.Environment.Should().ContainEquivalentOf(new SubprocessEnvironmentVariable("VP_ARTIFACT_BUCKET", "vision-artifacts", "storage"));
    }

    [Theory]
    [InlineData("Training:Subprocess:Environment:VP_ARTIFACT_PREFIX")]
    [InlineData("Training:Subprocess:Environment:VP_ARTIFACT_BUCKET")]
    [InlineData("Training:Subprocess:Frameworks:ultralytics:Environment:VP_ARTIFACT_PREFIX")]
    public void Configuring_a_reserved_variable_fails_at_start_up_naming_the_key(string key)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = "my/own/prefix/" }).Build();
        var services = new ServiceCollection();
        services.AddTrainingExecutors(configuration.GetSection("Training")).AddSubprocess();
        using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().Throw<OptionsValidationException>().Which.Failures.Should().ContainSingle(f => f.StartsWith(key, StringComparison.Ordinal))
            .Which.Should().Contain("reserved").And.Contain("artifact store");
    }

    [Fact]
    public void A_job_may_not_set_them_either()
    {
        var builder = Job("job-own-prefix");
        builder.Environment["VP_ARTIFACT_PREFIX"] = "elsewhere/";

        var act = () => builder.Build();

        act.Should().Throw<TrainingValidationException>().Which.Errors.Should().ContainSingle(e => e.Field == "Environment[VP_ARTIFACT_PREFIX]");
    }

    private static S3ArtifactStore Store()
    {
        var options = new ArtifactStorageOptions();
        ConfigureStore(options);
        return new S3ArtifactStore(options);
    }

    private static void ConfigureStore(ArtifactStorageOptions o)
    {
        o.ServiceUrl = "http://127.0.0.1:1";
        o.Bucket = "vision-artifacts";
        o.Prefix = "tenants/acme";
        o.AccessKeyId = "key-id";
        o.SecretAccessKey = StorageSecret;
    }
}
