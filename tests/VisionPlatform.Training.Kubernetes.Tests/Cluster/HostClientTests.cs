using System.Collections.Concurrent;
using k8s;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>A host that supplies its own <see cref="IKubernetes"/>: everything the SDK registers talks through it, unchanged.</summary>
public class HostClientTests
{
    [Fact]
    public async Task The_executor_monitor_and_cluster_setup_use_the_hosts_client_as_it_is()
    {
        await using var cluster = await WorkloadHarness.StartAsync();
        var seen = new ConcurrentQueue<(string Method, string Path, string? Authorization)>();
        var hostClient = new k8s.Kubernetes(
            new KubernetesClientConfiguration { Host = cluster.Cluster.Url.ToString(), AccessToken = "host-token" },
            new RecordingHandler(seen));
        var factoryCalls = 0;
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o => o.DefaultExecutor = KubernetesExecutorInfo.ExecutorName).AddKubernetes(
            _ =>
            {
                Interlocked.Increment(ref factoryCalls);
                return hostClient;
            },
            o =>
            {
                // Connection options do not apply to a host's client: this address answers nothing.
                o.Connection.Host = "http://127.0.0.1:9";
                o.Connection.AccessToken = "sdk-token-never-sent";
                o.Image.Registry = "registry.example.com/vision";
                o.PollInterval = TimeSpan.FromMilliseconds(200);
            });

        await using (var provider = services.BuildServiceProvider())
        {
            var hosted = provider.GetServices<IHostedService>().ToList();
            foreach (var service in hosted)
            {
                await service.StartAsync(CancellationToken.None);
            }

            var monitor = provider.GetRequiredService<KubernetesRunMonitor>();
            await Eventually.GetAsync(() => Task.FromResult(monitor.IsSynced), synced => synced, "the monitor to sync through the host's client");
            var executor = provider.GetRequiredKeyedService<ITrainingExecutor>(KubernetesExecutorInfo.ExecutorName);
            (await executor.CheckAvailabilityAsync()).IsAvailable.Should().BeTrue();
            var run = await executor.StartAsync(WorkloadHarness.Trainer("host-client", """{"epoch_seconds": 30}""").Build());
            (await executor.GetStatusAsync(run)).Phase.Should().NotBe(TrainingPhase.NotFound);
            (await executor.StopAsync(run)).Phase.Should().Be(TrainingPhase.Stopped);
            var report = await provider.GetRequiredService<KubernetesClusterSetup>().CheckClusterResourcesAsync();
            report.Should().NotBeNull();

            foreach (var service in Enumerable.Reverse(hosted))
            {
                await service.StopAsync(CancellationToken.None);
            }
        }

        factoryCalls.Should().Be(1, "one client per service provider, shared by executor, monitor and set-up");
        seen.Should().Contain(r => r.Method == "POST" && r.Path.EndsWith("/jobs", StringComparison.Ordinal));
        seen.Should().Contain(r => r.Method == "PATCH");
        seen.Should().Contain(r => r.Path.Contains("/roles/", StringComparison.Ordinal), "the cluster set-up read its Role through the host's client");
        seen.Should().OnlyContain(r => r.Authorization == "Bearer host-token", "the SDK adds no credentials of its own");

        // The host owns the client: disposing the provider did not dispose it.
        (await hostClient.CoreV1.ListNamespacedPodAsync("training")).Should().NotBeNull();
        hostClient.Dispose();
    }

    private sealed class RecordingHandler(ConcurrentQueue<(string, string, string?)> seen) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            seen.Enqueue((request.Method.Method, request.RequestUri!.AbsolutePath, request.Headers.Authorization?.ToString()));
            return base.SendAsync(request, cancellationToken);
        }
    }
}
