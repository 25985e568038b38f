using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using VisionPlatform.Training.Tests.Subprocess;

namespace VisionPlatform.Training.Tests.DependencyInjection;

/// <summary>Issue 17: the trainer's interpreters and scripts are checked when the host starts, or reported by health in lenient mode.</summary>
public sealed class TrainerFileValidationTests : IAsyncDisposable
{
    private readonly SubprocessTestContext _ctx = new();

    public ValueTask DisposeAsync() => _ctx.DisposeAsync();

    [Fact]
    public void A_missing_script_missing_interpreters_and_an_unregistered_default_fail_start_up_in_one_message_naming_every_key()
    {
        using var provider = Build(o =>
        {
            o.DefaultExecutor = "kubernetes";
            o.Subprocess.Script = Path.Combine(_ctx.Root, "missing", "train.py");
            o.Subprocess.Frameworks["timm"] = new() { Interpreter = "/opt/venvs/timm/bin/python" };
            o.Subprocess.Frameworks["ultralytics"] = new() { Interpreter = "no-such-python-vp17" };
        });

        var e = ((Action)(() => provider.GetRequiredService<IStartupValidator>().Validate())).Should().Throw<OptionsValidationException>().Which;

        e.Failures.Should().HaveCount(4);
        e.Message.Should().Contain("Training:DefaultExecutor is 'kubernetes', which is not a registered executor")
            .And.Contain("Training:Subprocess:Script is '" + Path.Combine(_ctx.Root, "missing", "train.py") + "', which does not exist")
            .And.Contain("Training:Subprocess:Frameworks:timm:Interpreter is '/opt/venvs/timm/bin/python', which cannot be found")
            .And.Contain("Training:Subprocess:Frameworks:ultralytics:Interpreter is 'no-such-python-vp17', which cannot be found")
            .And.Contain("Training:Subprocess:ValidateTrainerOnStart");
    }

    [Fact]
    public void Existing_trainer_files_pass()
    {
        using var provider = Build(o => o.Subprocess.Frameworks["custom"] = new() { Interpreter = SubprocessTestContext.Python, Script = SubprocessTestContext.TrainPy });

        ((Action)(() => provider.GetRequiredService<IStartupValidator>().Validate())).Should().NotThrow();
    }

    [Fact]
    public void A_stand_in_under_the_subprocess_name_needs_no_trainer_files()
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o =>
        {
            o.DefaultExecutor = TrainingExecutorNames.Subprocess;
            o.Subprocess.Script = "/nowhere/train.py";
        }).AddSubprocess();
        var registered = services.Where(d => d.IsKeyedService && d.ServiceType == typeof(ITrainingExecutor)).ToArray();
        foreach (var descriptor in registered)
        {
            services.Remove(descriptor);
        }

        services.AddKeyedSingleton<ITrainingExecutor>(TrainingExecutorNames.Subprocess, (_, _) => new Routing.ScriptedExecutor(TrainingExecutorNames.Subprocess));
        using var provider = services.BuildServiceProvider();

        ((Action)(() => provider.GetRequiredService<IStartupValidator>().Validate())).Should().NotThrow();
    }

    [Fact]
    public async Task In_lenient_mode_the_host_starts_health_names_the_missing_interpreter_and_a_job_of_another_framework_runs()
    {
        using var provider = Build(o =>
        {
            o.Subprocess.ValidateTrainerOnStart = false;
            o.Subprocess.Frameworks["timm"] = new() { Interpreter = "/opt/venvs/timm/bin/python" };
        });
        ((Action)(() => provider.GetRequiredService<IStartupValidator>().Validate())).Should().NotThrow();
        var client = provider.GetRequiredService<TrainingClient>();
        _ctx.Track(provider.GetRequiredService<VisionPlatform.Training.Subprocess.SubprocessTrainingExecutor>());

        var health = await new TrainingExecutorsHealthCheck(client, provider.GetRequiredService<IOptionsMonitor<TrainingOptions>>())
            .CheckHealthAsync(new HealthCheckContext { Registration = new HealthCheckRegistration("t", _ => null!, HealthStatus.Unhealthy, null) });
        health.Status.Should().Be(HealthStatus.Degraded);
        health.Description.Should().Contain("Training:Subprocess:Frameworks:timm:Interpreter").And.Contain("/opt/venvs/timm/bin/python");

        var custom = await client.StartAsync(Job("job-custom", "custom"));
        (await custom.WaitForCompletionAsync(TimeSpan.FromMinutes(2))).Phase.Should().Be(TrainingPhase.Succeeded);

        var timm = async () => await client.StartAsync(Job("job-timm", "timm"), new TrainingStartOptions { NoFallback = true });
        (await timm.Should().ThrowAsync<TrainingException>()).Which.Message.Should().Contain("Training:Subprocess:Frameworks:timm:Interpreter");
    }

    [Fact]
    public async Task In_lenient_mode_with_nothing_launchable_the_executor_is_unavailable_and_health_says_why()
    {
        using var provider = Build(o =>
        {
            o.Subprocess.ValidateTrainerOnStart = false;
            o.Subprocess.Script = "/nowhere/train.py";
        });
        var client = provider.GetRequiredService<TrainingClient>();

        var availability = await client.GetAvailabilityAsync(TrainingExecutorNames.Subprocess);

        availability.IsAvailable.Should().BeFalse();
        availability.Reason.Should().Contain("Training:Subprocess:Script is '/nowhere/train.py', which does not exist");
    }

    private ServiceProvider Build(Action<TrainingOptions> configure)
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o =>
        {
            o.DefaultExecutor = TrainingExecutorNames.Subprocess;
            o.Subprocess.RunsDirectory = _ctx.RunsDirectory;
            o.Subprocess.Interpreter = SubprocessTestContext.Python;
            o.Subprocess.Script = SubprocessTestContext.TrainPy;
            configure(o);
        }).AddSubprocess();
        return services.BuildServiceProvider();
    }

    private static TrainingJobConfig Job(string id, string framework) => new TrainingJobConfigBuilder
    {
        JobId = id,
        Framework = framework,
        TaskType = "classification",
        ModelName = "logreg",
        DatasetPath = "generated",
        DatasetFormat = "generated",
        Epochs = 1,
    }.Build();
}
