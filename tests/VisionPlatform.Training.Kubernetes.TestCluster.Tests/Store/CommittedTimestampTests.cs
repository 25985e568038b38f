using System.Diagnostics;
using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Store;

/// <summary>Watch events carry when the store applied the change, so a benchmark can time change-to-observer latency.</summary>
public sealed class CommittedTimestampTests
{
    [Fact]
    public async Task A_change_carries_the_time_the_store_committed_it_and_initial_state_carries_none()
    {
        var store = new ClusterStore();
        store.Create(ResourceType.Namespaces, null, new JsonObject { ["metadata"] = new JsonObject { ["name"] = "ml" } });
        store.Create(ResourceType.Jobs, "ml", new JsonObject { ["metadata"] = new JsonObject { ["name"] = "before" } });
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var fromScratch = store.Watch(ResourceType.Jobs, "ml", 0, stop.Token);
        var fromNow = store.Watch(ResourceType.Jobs, "ml", store.ResourceVersion, stop.Token);

        var beforeWrite = Stopwatch.GetTimestamp();
        store.Update(ResourceType.Jobs, "ml", "before", j =>
        {
            j["status"] = new JsonObject { ["active"] = 1 };
            return j;
        });
        var afterWrite = Stopwatch.GetTimestamp();
        await Task.Delay(50);
        var readLater = Stopwatch.GetTimestamp();

        var initial = await fromScratch.ReadAsync(stop.Token);
        initial.Type.Should().Be(StoreEventType.Added);
        initial.CommittedTimestamp.Should().Be(0, "the objects a watch starts with are state, not a change");
        var modified = await fromNow.ReadAsync(stop.Token);
        modified.Type.Should().Be(StoreEventType.Modified);
        modified.CommittedTimestamp.Should().BeInRange(beforeWrite, afterWrite, "it is taken as the write commits, not when the watcher reads it");
        modified.CommittedTimestamp.Should().BeLessThan(readLater);
        (await fromScratch.ReadAsync(stop.Token)).CommittedTimestamp.Should().Be(modified.CommittedTimestamp, "every watcher sees the same commit time");
    }
}
