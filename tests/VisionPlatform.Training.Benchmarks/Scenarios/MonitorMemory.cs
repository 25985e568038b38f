using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using VisionPlatform.Training.Benchmarks.Children;
using VisionPlatform.Training.Benchmarks.Http;

namespace VisionPlatform.Training.Benchmarks.Scenarios;

/// <summary>
/// 10,000 running runs tracked through a real list and watch: a test cluster (API server only, in a child process by
/// default, so this process holds only the SDK) gets 10,000 Jobs built by the SDK's own spec builder, each with a running
/// status and a Running pod. A first host lists and publishes them all (warming up everything that is paid once per
/// process: JIT, statics, the HTTP connection pool) and is stopped; then a second host starts, as after a restart.
/// <c>mem_sync_s</c> is the second host's time from <c>StartAsync</c> to a phase event for every run (its cache is
/// consistent with the API: every run listed, cached and published); <c>mem_mb_10k</c> is the rise of the managed heap
/// (<c>GC.GetTotalMemory(true)</c> after compacting full collections) over the same span, so what the monitor's cache
/// and the event hub hold for 10,000 runs.
/// </summary>
internal static class MonitorMemory
{
    public static async Task<List<BenchmarkResult>> MeasureAsync(int tracked, bool outOfProcess, TextWriter progress, CancellationToken cancellationToken)
    {
        await using var cluster = await BenchCluster.StartAsync(ClusterProfile.Api, outOfProcess, tracked * 3, cancellationToken);
        var populated = await cluster.SendAsync($"populate {tracked}", cancellationToken);
        progress.WriteLine($"monitor: {tracked} running Jobs and pods put into the store of the cluster in {cluster.Where} in {populated} s");

        var first = await SyncAsync(cluster, tracked, measureMemory: false, progress, cancellationToken);
        progress.WriteLine($"monitor: first host: {first.Seen} of {tracked} runs published {first.Seconds:0.0} s after start ({first.Calls} API calls); restarting");
        var restart = await SyncAsync(cluster, tracked, measureMemory: true, progress, cancellationToken);
        progress.WriteLine($"monitor: restarted host: {restart.Seen} of {tracked} runs published {restart.Seconds:0.0} s after start ({restart.Calls} API calls, {restart.Bytes / 1048576.0:0.0} MiB)");

        var label = tracked == 10_000 ? "10k" : tracked.ToString(CultureInfo.InvariantCulture);
        const double Mb = 1024 * 1024;
        return
        [
            new("monitor.mem_tracked_runs", restart.Seen.ToString(CultureInfo.InvariantCulture)),
            BenchmarkResult.Of($"monitor.mem_mb_{label}", restart.ManagedBytes / Mb, "0.0"),
            BenchmarkResult.Of($"monitor.ws_mb_{label}", restart.WorkingSetBytes / Mb, "0.0"),
            BenchmarkResult.Of("monitor.mem_sync_s", restart.Seconds, "0.00"),
            BenchmarkResult.Of("monitor.mem_first_sync_s", first.Seconds, "0.00"),
            new("monitor.mem_sync_requests", restart.Calls.ToString(CultureInfo.InvariantCulture)),
            BenchmarkResult.Of("monitor.mem_sync_mb_received", restart.Bytes / Mb, "0.0"),
        ];
    }

    private sealed record Sync(int Seen, double Seconds, long Calls, long Bytes, long ManagedBytes, long WorkingSetBytes);

    private static async Task<Sync> SyncAsync(BenchCluster cluster, int tracked, bool measureMemory, TextWriter progress, CancellationToken cancellationToken)
    {
        var tally = new HttpTally();
        using var host = MonitorScenario.BuildHost(cluster.Url, tally);
        var events = host.Services.GetRequiredService<ITrainingEventSource>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var allSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        var subscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var counting = Task.Run(async () =>
        {
            try
            {
                var subscription = new TrainingEventSubscription { IncludeCurrentState = false, IncludeProgress = false, BufferCapacity = 1 << 17 };
                var stream = events.SubscribeAsync(subscription, stop.Token).GetAsyncEnumerator(stop.Token);
                await using (stream)
                {
                    var next = stream.MoveNextAsync();
                    subscribed.TrySetResult();
                    while (await next)
                    {
                        if (stream.Current is TrainingPhaseChangedEvent e)
                        {
                            lock (seen)
                            {
                                if (seen.Add(e.JobId) && seen.Count >= tracked)
                                {
                                    allSeen.TrySetResult();
                                }
                            }
                        }

                        next = stream.MoveNextAsync();
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // done
            }
        }, CancellationToken.None);
        await subscribed.Task;

        long managedBefore = 0, workingSetBefore = 0;
        if (measureMemory)
        {
            Collect();
            managedBefore = GC.GetTotalMemory(forceFullCollection: true);
            workingSetBefore = MemorySampler.Current();
        }

        var sync = Stopwatch.StartNew();
        await host.StartAsync(cancellationToken);

        // the monitor publishes every run it lists; without one nothing arrives, so stop waiting early
        var deadline = Task.Delay(TimeSpan.FromMinutes(3), cancellationToken);
        var quiet = Task.Delay(TimeSpan.FromMinutes(1), cancellationToken);
        while (!allSeen.Task.IsCompleted)
        {
            var done = await Task.WhenAny(allSeen.Task, deadline, Task.Delay(1000, cancellationToken));
            int count;
            lock (seen)
            {
                count = seen.Count;
            }

            if (done == deadline || (quiet.IsCompleted && count == 0))
            {
                break;
            }
        }

        var seconds = sync.Elapsed.TotalSeconds;
        int trackedSeen;
        lock (seen)
        {
            trackedSeen = seen.Count;
        }

        long managedAfter = 0, workingSetAfter = 0;
        if (measureMemory)
        {
            Collect();
            managedAfter = GC.GetTotalMemory(forceFullCollection: true);
            workingSetAfter = MemorySampler.Current();
        }

        await stop.CancelAsync();
        await counting;
        await host.StopAsync(CancellationToken.None);
        GC.KeepAlive(host);
        return new Sync(trackedSeen, seconds, tally.Calls, tally.Bytes, managedAfter - managedBefore, workingSetAfter - workingSetBefore);
    }

    private static void Collect()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    }
}
