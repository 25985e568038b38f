using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary><c>Training:Kubernetes:Logs</c> is bound and validated at start-up; a bad value names its key and the rule.</summary>
public class LogArchiveOptionsTests
{
    public static TheoryData<string, string, string> BadValues => new()
    {
        { "ChunkBytes", "100", "between 4096" },
        { "FlushInterval", "00:00:00.010", "between" },
        { "MaxFollows", "0", "between 1 and 10000" },
        { "BackstopTtl", "00:00:01.500", "whole seconds" },
        { "BackstopTtl", "400.00:00:00", "whole seconds" },
        { "LeaseName", "Log_Archiver", "DNS-1123 subdomain" },
        { "LeaseName", "archiver-", "DNS-1123 subdomain" },
        { "LeaseDuration", "00:00:01", "between 00:00:02 and 00:05:00" },
        { "LeaseDuration", "00:05:01", "between 00:00:02 and 00:05:00" },
        { "LeaseDuration", "00:00:02.500", "whole seconds" },
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public void A_bad_logs_value_fails_start_up_naming_its_key(string setting, string value, string rule)
    {
        using var provider = Provider(new() { [$"Training:Kubernetes:Logs:{setting}"] = value });

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().Throw<OptionsValidationException>().Which.Failures
            .Should().ContainSingle(f => f.StartsWith($"Training:Kubernetes:Logs:{setting} is ", StringComparison.Ordinal)).Which.Should().Contain(rule);
    }

    [Fact]
    public void The_logs_section_binds()
    {
        using var provider = Provider(new()
        {
            ["Training:Kubernetes:Logs:Archive"] = "false",
            ["Training:Kubernetes:Logs:ChunkBytes"] = "65536",
            ["Training:Kubernetes:Logs:FlushInterval"] = "00:00:02",
            ["Training:Kubernetes:Logs:MaxFollows"] = "7",
            ["Training:Kubernetes:Logs:BackstopTtl"] = "2.00:00:00",
            ["Training:Kubernetes:Logs:LeaseName"] = "team-a.log-archiver",
            ["Training:Kubernetes:Logs:LeaseDuration"] = "00:00:30",
        });

        provider.GetRequiredService<IStartupValidator>().Validate();

        var logs = provider.GetRequiredService<IOptions<KubernetesExecutorOptions>>().Value.Logs;
        (logs.Archive, logs.ChunkBytes, logs.FlushInterval, logs.MaxFollows, logs.BackstopTtl)
            .Should().Be((false, 65536, TimeSpan.FromSeconds(2), 7, TimeSpan.FromDays(2)));
        (logs.LeaseName, logs.LeaseDuration).Should().Be(("team-a.log-archiver", TimeSpan.FromSeconds(30)));
        (new KubernetesExecutorOptions().Logs.LeaseName, new KubernetesExecutorOptions().Logs.LeaseDuration)
            .Should().Be(("visionplatform-training-log-archiver", TimeSpan.FromSeconds(15)));
        new KubernetesExecutorOptions().Logs.Archive.Should().BeNull("archiving follows whether an archive is registered");
    }

    private static ServiceProvider Provider(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o => o.DefaultExecutor = KubernetesExecutorInfo.ExecutorName).AddKubernetes(configuration.GetSection("Training:Kubernetes"));
        return services.BuildServiceProvider();
    }
}
