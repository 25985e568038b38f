using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>The monitor's cost does not grow with the number of runs: one list and one watch per resource.</summary>
public class KubernetesMonitorScaleTests
{
    [Fact]
    public async Task A_hundred_runs_are_tracked_with_one_list_and_a_few_watches_not_calls_per_run()
    {
        await using var host = await MonitorHost.StartAsync(image: ImageMapping.Command("true"));
        await host.WaitForSyncAsync();
        await using var recorder = new EventRecorder(host.Events, new TrainingEventSubscription { IncludeCurrentState = false, IncludeProgress = false, BufferCapacity = 65_536 });
        var runs = new List<TrainingRun>();
        for (var i = 0; i < 100; i++)
        {
            runs.Add(await host.Executor.StartAsync(Jobs.Config($"mon-many-{i}").Apply(b =>
                b.Resources = new TrainingResources { CpuRequest = "10m", MemoryRequest = "16Mi", MemoryLimit = "64Mi" }).Build()));
        }

        // Every run the cluster completed (read from its store, not over HTTP) must be reported Succeeded. The test
        // cluster's node agent occasionally leaves one pod of a large batch unstarted under load; that run is then
        // correctly reported Pending and is left out.
        bool Completed(TrainingRun r) =>
            VisionPlatform.Training.Kubernetes.TestCluster.Store.Json.Walk(
                host.Api.Store.Get(VisionPlatform.Training.Kubernetes.TestCluster.Store.ResourceType.Jobs, "training", r.ResourceId.Split('/')[1]), "status", "completionTime") is not null;
        // The runs checked are the ones completed when the condition held: a run completing just after may not be
        // published yet, and re-reading the store here would include it.
        runs = await Eventually.GetAsync(
            () => Task.FromResult(runs.Where(Completed).ToList()),
            done => done.Count >= 95 && done.All(r => recorder.Phases(r.JobId) is { Count: > 0 } p && p[^1].Status.Phase == TrainingPhase.Succeeded),
            "the completed runs to be reported Succeeded",
            TimeSpan.FromMinutes(3));
        runs.Select(r => recorder.Phases(r.JobId)[^1].Status.Phase).Should().AllBeEquivalentTo(TrainingPhase.Succeeded);
        var requests = host.Api.Requests;
        requests.CountOf("create", "jobs").Should().Be(100);
        requests.CountOf("list").Should().Be(3, "one list each for Jobs, pods and FailedCreate Events");
        requests.CountOf("watch").Should().BeLessThanOrEqualTo(6, "one watch per resource, not per run");
        requests.Entries.Where(e => e.Verb == "get" && e.Resource is "jobs" or "pods").Select(e => e.Path).Should().BeEmpty("no run is polled and, with no one wanting progress or logs, no log is read");
        host.Monitor.TrackedRuns.Should().Be(100, "every run is in the cache, finished or not");
    }
}
