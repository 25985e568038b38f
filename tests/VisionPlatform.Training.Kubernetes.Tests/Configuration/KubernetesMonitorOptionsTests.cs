using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>
/// <c>Training:Kubernetes:Monitor</c> is validated when the host starts, like the rest of the executor's options: a bad value
/// stops start-up with a message naming its configuration key, the value and the rule.
/// </summary>
public class KubernetesMonitorOptionsTests
{
    public static TheoryData<string, string, string> BadValues => new()
    {
        { "ReevaluateInterval", "00:00:00.010", "between" },
        { "ReevaluateInterval", "02:00:00", "between" },
        { "WatchTimeout", "00:00:01.500", "whole seconds" },
        { "WatchTimeout", "02:00:00", "between" },
        { "IdleTimeout", "00:00:00", "between" },
        { "BackoffBase", "00:05:00", "between" },
        { "BackoffMax", "00:20:00", "between" },
        { "ListPageSize", "0", "between 1 and 10000" },
        { "MaxLogFollows", "-1", "between 0" },
        { "DeletedRunRetention", "2000000", "between 0 and 1000000" },
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public void A_bad_monitor_value_fails_start_up_naming_its_key(string setting, string value, string rule)
    {
        using var provider = Provider("Training:Kubernetes", new() { [$"Training:Kubernetes:Monitor:{setting}"] = value });

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        var failures = act.Should().Throw<OptionsValidationException>().Which.Failures;
        failures.Should().ContainSingle(f => f.StartsWith($"Training:Kubernetes:Monitor:{setting} is ", StringComparison.Ordinal))
            .Which.Should().Contain(rule);
    }

    [Fact]
    public void A_backoff_ceiling_below_its_base_names_both_keys()
    {
        using var provider = Provider("Training:Kubernetes", new()
        {
            ["Training:Kubernetes:Monitor:BackoffBase"] = "00:00:10",
            ["Training:Kubernetes:Monitor:BackoffMax"] = "00:00:02",
        });

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().Throw<OptionsValidationException>().Which.Failures.Should().ContainSingle()
            .Which.Should().Contain("Training:Kubernetes:Monitor:BackoffMax is 00:00:02").And.Contain("Training:Kubernetes:Monitor:BackoffBase");
    }

    [Fact]
    public void Messages_name_the_keys_of_the_section_the_host_bound()
    {
        using var provider = Provider("Backend:Cluster", new() { ["Backend:Cluster:Monitor:ReevaluateInterval"] = "00:00:00" });

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().Throw<OptionsValidationException>().Which.Failures.Should().ContainSingle()
            .Which.Should().StartWith("Backend:Cluster:Monitor:ReevaluateInterval is 00:00:00");
    }

    [Fact]
    public void Good_monitor_values_bind_and_pass()
    {
        using var provider = Provider("Training:Kubernetes", new()
        {
            ["Training:Kubernetes:Monitor:ReevaluateInterval"] = "00:00:02",
            ["Training:Kubernetes:Monitor:WatchTimeout"] = "00:01:00",
            ["Training:Kubernetes:Monitor:MaxLogFollows"] = "0",
        });

        provider.GetRequiredService<IStartupValidator>().Validate();

        var monitor = provider.GetRequiredService<IOptions<KubernetesExecutorOptions>>().Value.Monitor;
        monitor.ReevaluateInterval.Should().Be(TimeSpan.FromSeconds(2));
        monitor.WatchTimeout.Should().Be(TimeSpan.FromMinutes(1));
        monitor.MaxLogFollows.Should().Be(0);
    }

    private static ServiceProvider Provider(string section, Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o => o.DefaultExecutor = KubernetesExecutorInfo.ExecutorName).AddKubernetes(configuration.GetSection(section));
        return services.BuildServiceProvider();
    }
}
