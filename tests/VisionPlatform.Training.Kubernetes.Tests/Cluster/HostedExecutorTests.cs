using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>The Kubernetes executor as a host registers it: configuration, DI, and the manager routing to it.</summary>
public class HostedExecutorTests
{
    [Fact]
    public async Task A_host_configured_from_Training_Kubernetes_runs_the_demo_trainer_through_the_manager()
    {
        await using var h = await WorkloadHarness.StartAsync();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Training:DefaultExecutor"] = "kubernetes",
            ["Training:Kubernetes:Connection:Host"] = h.Cluster.Url.ToString().TrimEnd('/'),
            ["Training:Kubernetes:Image:Registry"] = "registry.example.com/vision",
            ["Training:Kubernetes:Image:Tag"] = "1.4.0",
            ["Training:Kubernetes:PollInterval"] = "00:00:00.200",
        }).Build();
        var services = new ServiceCollection();
        services.AddTrainingExecutors(configuration.GetSection("Training")).AddKubernetes(configuration.GetSection("Training:Kubernetes"));
        await using var provider = services.BuildServiceProvider();
        var manager = provider.GetRequiredService<TrainingExecutorManager>();

        var run = await manager.StartAsync(WorkloadHarness.Trainer("hosted-1").Build());
        var statuses = new List<TrainingRunStatus>();
        await foreach (var status in manager.WatchAsync(run).WithCancellation(new CancellationTokenSource(TimeSpan.FromSeconds(120)).Token))
        {
            statuses.Add(status);
        }

        run.ExecutorName.Should().Be("kubernetes");
        statuses[^1].Phase.Should().Be(TrainingPhase.Succeeded);
        var parsed = TrainingRun.Parse(run.ToString());
        (await manager.GetStatusAsync(parsed)).Phase.Should().Be(TrainingPhase.Succeeded, "a persisted handle works after a round trip");
        (await manager.FindAsync("hosted-1")).Should().Be(run);
        (await manager.CheckAvailabilityAsync()).IsAvailable.Should().BeTrue();
    }
}
