using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace VisionPlatform.Training.Tests.DependencyInjection;

public class ExecutorRegistrationValidationTests
{
    [Fact]
    public void AddTrainingExecutors_alone_registers_no_executor_and_no_process_can_be_spawned()
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o => o.DefaultExecutor = "subprocess");
        using var provider = services.BuildServiceProvider();

        provider.GetKeyedService<ITrainingExecutor>(TrainingExecutorNames.Subprocess).Should().BeNull();
        provider.GetService<VisionPlatform.Training.Subprocess.SubprocessTrainingExecutor>().Should().BeNull();
        provider.GetService<ITrainingExecutor>().Should().BeNull();
        var validate = () => provider.GetRequiredService<IStartupValidator>().Validate();
        validate.Should().Throw<OptionsValidationException>()
            .WithMessage("*Training:DefaultExecutor is 'subprocess', which is not a registered executor*Registered executors: none*AddSubprocess()*");
    }

    [Fact]
    public void A_missing_default_and_unregistered_fallbacks_fail_at_start_up_in_one_message_naming_each_key()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Ops:Training:Fallback:Executors:0"] = "subprocess",
            ["Ops:Training:Fallback:Executors:1"] = "slurm",
        }).Build();
        var services = new ServiceCollection();
        services.AddTrainingExecutors(configuration.GetSection("Ops:Training")).AddSubprocess(NoTrainerFiles);
        using var provider = services.BuildServiceProvider();

        var validate = () => provider.GetRequiredService<IStartupValidator>().Validate();

        var e = validate.Should().Throw<OptionsValidationException>().Which;
        e.Failures.Should().HaveCount(2);
        e.Message.Should().Contain("Ops:Training:DefaultExecutor is required").And.Contain("Registered executors: subprocess")
            .And.Contain("Ops:Training:Fallback:Executors:1 is 'slurm', which is not a registered executor")
            .And.NotContain("Executors:0");
    }

    [Fact]
    public void An_unregistered_default_fails_at_start_up_naming_the_key_and_the_registered_names()
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o => o.DefaultExecutor = "kubernetes").AddSubprocess(NoTrainerFiles).AddExecutor("cloud", _ => new Routing.ScriptedExecutor("cloud"));
        using var provider = services.BuildServiceProvider();

        var validate = () => provider.GetRequiredService<IStartupValidator>().Validate();

        validate.Should().Throw<OptionsValidationException>()
            .WithMessage("*Training:DefaultExecutor is 'kubernetes', which is not a registered executor. Registered executors: subprocess, cloud*");
    }

    [Fact]
    public void A_registered_default_and_fallbacks_pass_whatever_their_case()
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o =>
        {
            o.DefaultExecutor = "Cloud";
            o.Fallback.Executors.Add("SUBPROCESS");
        }).AddSubprocess(NoTrainerFiles).AddExecutor("cloud", _ => new Routing.ScriptedExecutor("cloud"));
        using var provider = services.BuildServiceProvider();

        var validate = () => provider.GetRequiredService<IStartupValidator>().Validate();

        validate.Should().NotThrow();
    }

    [Fact]
    public void AddSubprocess_with_an_action_configures_the_subprocess_options()
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o => o.DefaultExecutor = TrainingExecutorNames.Subprocess).AddSubprocess(o => { o.MaxConcurrentRuns = 3; o.ValidateTrainerOnStart = false; });
        using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<IOptions<TrainingOptions>>().Value.Subprocess.MaxConcurrentRuns.Should().Be(3);
        provider.GetRequiredKeyedService<ITrainingExecutor>(TrainingExecutorNames.Subprocess).Should().BeOfType<VisionPlatform.Training.Subprocess.SubprocessTrainingExecutor>();
    }
}
