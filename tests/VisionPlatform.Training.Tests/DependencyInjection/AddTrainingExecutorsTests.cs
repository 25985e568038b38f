using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using VisionPlatform.Training.Subprocess;
using VisionPlatform.Training.Tests.Subprocess;

namespace VisionPlatform.Training.Tests.DependencyInjection;

public sealed class AddTrainingExecutorsTests : IAsyncLifetime
{
    private readonly SubprocessTestContext _ctx = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _ctx.DisposeAsync();

    [Fact]
    public async Task AddSubprocess_registers_the_subprocess_executor_by_name_behind_the_client()
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o => o.DefaultExecutor = TrainingExecutorNames.Subprocess).AddSubprocess(NoTrainerFiles);
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });

        var client = provider.GetRequiredService<TrainingClient>();
        var subprocess = provider.GetRequiredKeyedService<ITrainingExecutor>(TrainingExecutorNames.Subprocess);

        provider.GetService<ITrainingExecutor>().Should().BeNull("executors are resolved by name; the client is what a host injects");
        client.ExecutorNames.Should().Equal(TrainingExecutorNames.Subprocess);
        client.DefaultExecutorName.Should().Be(TrainingExecutorNames.Subprocess);
        subprocess.Should().BeOfType<SubprocessTrainingExecutor>().And.BeSameAs(provider.GetRequiredService<SubprocessTrainingExecutor>());
        ((SubprocessTrainingExecutor)subprocess).RunsDirectory.Should().Be(Path.Combine(Path.GetTempPath(), "vp-training-runs"));
    }

    [Fact]
    public async Task With_an_action_the_client_starts_real_runs_on_the_subprocess_executor()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddTrainingExecutors(o =>
        {
            o.DefaultExecutor = TrainingExecutorNames.Subprocess;
            o.Subprocess.RunsDirectory = _ctx.RunsDirectory;
            o.Subprocess.Interpreter = SubprocessTestContext.Python;
            o.Subprocess.Script = SubprocessTestContext.TrainPy;
        }).AddSubprocess(NoTrainerFiles);
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        var client = provider.GetRequiredService<TrainingClient>();

        var operation = await client.StartAsync(SubprocessTestContext.Job("job-di", epochs: 1).Build());
        var status = await operation.WaitForCompletionAsync(TimeSpan.FromSeconds(60));

        operation.ExecutorName.Should().Be(TrainingExecutorNames.Subprocess);
        operation.HasCompleted.Should().BeTrue();
        status.Phase.Should().Be(TrainingPhase.Succeeded, status.Message);
        Directory.Exists(Path.Combine(_ctx.RunsDirectory, operation.Run.ResourceId, "output")).Should().BeTrue();
        (await client.FindAsync("job-di"))!.Run.Should().Be(operation.Run);
    }

    [Fact]
    public async Task With_a_configuration_section_options_are_bound_and_the_flag_or_json_contract_is_chosen()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Training:DefaultExecutor"] = "subprocess",
            ["Training:Trainer:Contract"] = "json-config",
            ["Training:Subprocess:RunsDirectory"] = _ctx.RunsDirectory,
            ["Training:Subprocess:MaxConcurrentRuns"] = "7",
            ["Training:Subprocess:StopGracePeriod"] = "00:00:05",
            ["Training:Subprocess:Gpus:0"] = "2",
            ["Training:Subprocess:Gpus:1"] = "3",
            ["Training:Subprocess:Frameworks:timm:Interpreter"] = "/opt/venvs/timm/bin/python",
            ["Training:Subprocess:Frameworks:timm:Environment:HF_HOME"] = "/tmp/hf",
        }).Build();
        var services = new ServiceCollection();
        services.AddTrainingExecutors(configuration.GetSection("Training")).AddSubprocess(NoTrainerFiles);
        await using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<TrainingOptions>>().Value;
        var executor = provider.GetRequiredService<SubprocessTrainingExecutor>();
        var job = SubprocessTestContext.Job("job-json");
        job.Framework = TrainingFramework.Timm;
        var plan = executor.CreateLaunchPlan(job.Build());

        options.Subprocess.MaxConcurrentRuns.Should().Be(7);
        options.Subprocess.Gpus.Should().Equal(2, 3);
        options.Subprocess.StopGracePeriod.Should().Be(TimeSpan.FromSeconds(5));
        plan.FileName.Should().Be("/opt/venvs/timm/bin/python");
        plan.Arguments.Should().Contain("--config").And.Contain("--job-id");
        plan.Environment.Should().Contain(new SubprocessEnvironmentVariable("HF_HOME", "/tmp/hf", "framework"));
        plan.Environment.Should().Contain(e => e.Name == "JOB_ID" && e.Value == "job-json");
    }

    [Fact]
    public async Task Invalid_subprocess_options_fail_at_start_up_naming_each_configuration_key()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Training:Subprocess:MaxConcurrentRuns"] = "0",
            ["Training:Subprocess:StopGracePeriod"] = "-00:00:01",
            ["Training:Subprocess:Interpreter"] = " ",
            ["Training:Subprocess:Gpus:0"] = "1",
            ["Training:Subprocess:Gpus:1"] = "1",
            ["Training:Subprocess:PollInterval"] = "00:01:00",
            ["Training:Subprocess:Environment:CUDA_VISIBLE_DEVICES"] = "0",
            ["Training:Subprocess:Frameworks:Bad Name:Script"] = " ",
        }).Build();
        var services = new ServiceCollection();
        services.AddTrainingExecutors(configuration.GetSection("Training")).AddSubprocess(NoTrainerFiles);
        await using var provider = services.BuildServiceProvider();

        var validate = () => provider.GetRequiredService<IStartupValidator>().Validate();

        var message = validate.Should().Throw<OptionsValidationException>().Which.Message;
        message.Should().Contain("Training:Subprocess:MaxConcurrentRuns is 0")
            .And.Contain("Training:Subprocess:StopGracePeriod")
            .And.Contain("Training:Subprocess:Interpreter is required")
            .And.Contain("Training:Subprocess:Gpus lists a GPU index twice")
            .And.Contain("Training:Subprocess:PollInterval")
            .And.Contain("Training:Subprocess:Environment:CUDA_VISIBLE_DEVICES is set by the executor")
            .And.Contain("Training:Subprocess:Frameworks:Bad Name names the framework")
            .And.Contain("Training:Subprocess:Frameworks:Bad Name:Script is blank");
    }

    [Fact]
    public async Task Calling_it_twice_is_safe_and_keeps_one_executor_and_one_validator()
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o => { o.DefaultExecutor = TrainingExecutorNames.Subprocess; o.Subprocess.RunsDirectory = _ctx.RunsDirectory; }).AddSubprocess(NoTrainerFiles);
        services.AddTrainingExecutors(o => { o.DefaultExecutor = TrainingExecutorNames.Subprocess; o.Subprocess.MaxConcurrentRuns = 9; }).AddSubprocess(NoTrainerFiles);
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });

        var client = provider.GetRequiredService<TrainingClient>();
        var options = provider.GetRequiredService<IOptions<TrainingOptions>>().Value;

        client.ExecutorNames.Should().Equal(TrainingExecutorNames.Subprocess);
        provider.GetServices<IValidateOptions<TrainingOptions>>().Should().ContainSingle();
        services.Count(d => d.ServiceType == typeof(SubprocessTrainingExecutor) && !d.IsKeyedService).Should().Be(1);
        options.Subprocess.RunsDirectory.Should().Be(_ctx.RunsDirectory);
        options.Subprocess.MaxConcurrentRuns.Should().Be(9, "the second call's configuration applies too");
        provider.GetRequiredService<SubprocessTrainingExecutor>().RunsDirectory.Should().Be(_ctx.RunsDirectory);
    }

    [Fact]
    public void Disposing_the_container_synchronously_is_supported()
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o => { o.DefaultExecutor = TrainingExecutorNames.Subprocess; o.Subprocess.RunsDirectory = _ctx.RunsDirectory; }).AddSubprocess(NoTrainerFiles);
        var provider = services.BuildServiceProvider();
        provider.GetRequiredService<SubprocessTrainingExecutor>();

        var dispose = () => provider.Dispose();

        dispose.Should().NotThrow();
    }
}
