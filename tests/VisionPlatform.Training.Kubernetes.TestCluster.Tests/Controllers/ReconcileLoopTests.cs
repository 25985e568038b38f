using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using VisionPlatform.Training.Kubernetes.TestCluster.Controllers;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Controllers;

/// <summary>WorkloadOptions.MinReconcileInterval: a burst of changes is handled by one later pass, not a pass per change.</summary>
public sealed class ReconcileLoopTests
{
    private static ClusterStore NewStore()
    {
        var store = new ClusterStore();
        store.Create(ResourceType.Namespaces, null, new JsonObject { ["metadata"] = new JsonObject { ["name"] = "ml" } });
        return store;
    }

    private static void Burst(ClusterStore store, int count)
    {
        for (var i = 0; i < count; i++)
        {
            store.Create(ResourceType.ConfigMaps, "ml", new JsonObject { ["metadata"] = new JsonObject { ["generateName"] = "c-" } });
        }
    }

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            DateTime.UtcNow.Should().BeBefore(deadline, $"{what} within 30 s");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Changes_within_the_minimum_interval_wait_for_the_next_pass()
    {
        var store = NewStore();
        var passes = 0;
        var loop = new ReconcileLoop(
            "test", store, [ResourceType.ConfigMaps],
            _ =>
            {
                Interlocked.Increment(ref passes);
                return Task.FromResult<TimeSpan?>(TimeSpan.FromMilliseconds(1));
            },
            TimeSpan.FromMinutes(10), NullLogger.Instance, minInterval: TimeSpan.FromMinutes(10));
        await using (loop)
        {
            loop.Start();
            await WaitForAsync(() => Volatile.Read(ref passes) == 1, "the first pass");

            Burst(store, 50);
            await Task.Delay(500);

            Volatile.Read(ref passes).Should().Be(1, "neither the changes nor the 1 ms requeue the pass asked for start a pass before the interval is over");
        }
    }

    [Fact]
    public async Task A_burst_is_handled_by_a_later_pass_once_the_interval_is_over()
    {
        var store = NewStore();
        var seen = new List<int>();
        var loop = new ReconcileLoop(
            "test", store, [ResourceType.ConfigMaps],
            _ =>
            {
                lock (seen)
                {
                    seen.Add(store.List(ResourceType.ConfigMaps, "ml").Items.Count);
                }

                return Task.FromResult<TimeSpan?>(null);
            },
            TimeSpan.FromMinutes(10), NullLogger.Instance, minInterval: TimeSpan.FromMilliseconds(300));
        await using (loop)
        {
            loop.Start();
            await WaitForAsync(() => { lock (seen) { return seen.Count >= 1; } }, "the first pass");

            Burst(store, 50);

            await WaitForAsync(() => { lock (seen) { return seen[^1] == 50; } }, "a pass that sees all 50 changes");
        }
    }
}
