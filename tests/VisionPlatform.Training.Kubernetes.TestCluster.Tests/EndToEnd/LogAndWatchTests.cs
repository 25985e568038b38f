using k8s;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.EndToEnd;

public class LogAndWatchTests
{
    [Fact]
    public async Task A_pod_watch_sees_container_creating_then_running_then_terminated()
    {
        await using var env = await WorkloadCluster.StartAsync();
        // watch from a resourceVersion taken before the Job exists: every change of its pod is replayed, so a busy
        // machine cannot make the watch start after ContainerCreating is over
        var before = await env.Client.CoreV1.ListNamespacedPodAsync(WorkloadCluster.Namespace);
        var created = await env.CreateAsync(WorkloadCluster.TrainerJob("watch-pod", ["--epochs", "2", "--epoch_seconds", "0.3"]));

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var states = new List<string>();
        await foreach (var (_, pod) in env.Client.CoreV1.WatchListNamespacedPodAsync(
            WorkloadCluster.Namespace, labelSelector: $"batch.kubernetes.io/controller-uid={created.Metadata.Uid}", resourceVersion: before.Metadata.ResourceVersion,
            timeoutSeconds: 60, cancellationToken: timeout.Token))
        {
            var state = pod.Status?.ContainerStatuses?.FirstOrDefault()?.State;
            var name = state?.Waiting?.Reason ?? (state?.Running is not null ? "Running" : state?.Terminated?.Reason) ?? "none";
            if (states.Count == 0 || states[^1] != name)
            {
                states.Add(name);
            }

            if (state?.Terminated is not null)
            {
                break;
            }
        }

        states.Where(s => s != "none").Should().Equal("ContainerCreating", "Running", "Completed");
    }

    [Fact]
    public async Task Following_the_log_of_a_running_trainer_streams_progress_until_it_exits()
    {
        await using var env = await WorkloadCluster.StartAsync();
        await env.CreateAsync(WorkloadCluster.TrainerJob("follow", ["--epochs", "3", "--epoch_seconds", "0.5"]));
        var pod = await env.WaitForPodAsync("follow", p => p.Status?.Phase == "Running");

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var stream = await env.Client.CoreV1.ReadNamespacedPodLogAsync(pod.Metadata.Name, WorkloadCluster.Namespace, container: "trainer", follow: true, timestamps: true);
        using var reader = new StreamReader(stream);
        var lines = new List<string>();
        while (await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            lines.Add(line);
        }

        lines.Count(l => l.Contains(" VP_PROGRESS ", StringComparison.Ordinal)).Should().Be(3);
        lines.Should().AllSatisfy(l => DateTimeOffset.Parse(l.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture).Should().BeAfter(DateTimeOffset.UnixEpoch));
        var finished = await env.Client.CoreV1.ReadNamespacedPodAsync(pod.Metadata.Name, WorkloadCluster.Namespace);
        finished.Status.Phase.Should().Be("Succeeded");
    }
}
