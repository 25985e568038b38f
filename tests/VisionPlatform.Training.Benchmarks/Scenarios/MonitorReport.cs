using System.Diagnostics;
using System.Globalization;
using VisionPlatform.Training.Benchmarks.Runtime;

namespace VisionPlatform.Training.Benchmarks.Scenarios;

/// <summary>Turns one monitor run's records into its result lines (see docs/performance.md for what each means).</summary>
internal static class MonitorReport
{
    /// <summary>Everything one run recorded.</summary>
    internal sealed record Inputs(
        int Jobs,
        bool WaitEach,
        IReadOnlyList<string> JobIds,
        TimeSpan Window,
        long WindowStart,
        long WindowEnd,
        MonitorChanges Changes,
        MonitorEventRecorder Recorder,
        int StartErrors,
        ObserverReport Sdk,
        PollerReports? Pollers,
        CounterSeries SdkCounters,
        CounterSeries? ClusterCounters);

    public static List<BenchmarkResult> Build(Inputs input, TextWriter progress)
    {
        var changes = input.Changes;
        var recorder = input.Recorder;
        var invariant = CultureInfo.InvariantCulture;

        // SDK latency: store commit → the subscriber's first event of that phase for that run
        var events = new List<(string JobId, TrainingPhase Phase, long Changed, long Received, double Ms)>();
        foreach (var (jobId, phase, received) in recorder.Receipts())
        {
            if (changes.TryGetChange(jobId, phase, out var changed))
            {
                events.Add((jobId, phase, changed, received, Stopwatch.GetElapsedTime(changed, received).TotalMilliseconds));
            }
        }

        var latencies = events.Select(e => e.Ms).ToList();
        var terminalLatencies = events.Where(e => e.Phase is TrainingPhase.Succeeded or TrainingPhase.Failed).Select(e => e.Ms).ToList();

        // missing: the API shows the run finished but no terminal event reached the subscriber; unfinished: the
        // test cluster had not finished the run when the scenario stopped waiting (a slow cluster, not a monitor miss)
        var finishedInApi = input.JobIds.Where(id => changes.TryGetLifetime(id, out _)).ToList();
        var missing = finishedInApi.Count(id => !recorder.Terminal.ContainsKey(id));
        var unfinished = input.JobIds.Count - finishedInApi.Count;
        foreach (var example in recorder.DuplicateExamples)
        {
            progress.WriteLine($"monitor: duplicate: {example}");
        }

        progress.WriteLine($"monitor: window {input.Window.TotalSeconds:0.0} s; SDK API calls besides the creates: {input.Sdk.ByKind}");
        var results = new List<BenchmarkResult>
        {
            new("monitor.jobs", input.Jobs.ToString(invariant)),
            new("monitor.wait_each", input.WaitEach ? "1" : "0"),
            new("monitor.succeeded", recorder.Terminal.Values.Count(s => s.Phase == TrainingPhase.Succeeded).ToString(invariant)),
            new("monitor.failed", recorder.Terminal.Values.Count(s => s.Phase == TrainingPhase.Failed).ToString(invariant)),
            new("monitor.start_errors", input.StartErrors.ToString(invariant)),
            BenchmarkResult.Of("monitor.window_s", input.Window.TotalSeconds, "0.0"),
            new("monitor.requests", input.Sdk.Calls.ToString(invariant)),
            new("monitor.requests_by_kind", input.Sdk.ByKind),
            new("monitor.bytes", input.Sdk.Bytes.ToString(invariant)),
            new("monitor.event_p50_ms", Ms(latencies, 50)),
            new("monitor.event_p99_ms", Ms(latencies, 99)),
            new("monitor.event_terminal_p50_ms", Ms(terminalLatencies, 50)),
            new("monitor.event_terminal_p99_ms", Ms(terminalLatencies, 99)),
            new("monitor.event_max_ms", latencies.Count == 0 ? "n/a" : latencies.Max().ToString("0.0", invariant)),
            new("monitor.event_samples", latencies.Count.ToString(invariant)),
            new("monitor.events_delivered", recorder.Events.ToString(invariant)),
            new("monitor.duplicates", recorder.Duplicates.ToString(invariant)),
            new("monitor.dropped", recorder.Dropped.ToString(invariant)),
            new("monitor.missing", missing.ToString(invariant)),
            new("monitor.unfinished", unfinished.ToString(invariant)),
        };

        // staleness: for every phase change the API made, how long until the observer knew (the SDK: its event)
        var sdkSeen = recorder.Receipts().Select(r => new PhaseChange(r.JobId, r.Phase, r.Timestamp)).ToList();
        results.AddRange(Staleness("monitor", changes, sdkSeen));
        if (input.Pollers is { } pollers)
        {
            results.AddRange(Observer("monitor.per_job_poll", pollers.PerJob, changes));
            results.AddRange(Observer("monitor.list_poll", pollers.List, changes));
            results.Add(BenchmarkResult.Of("monitor.ratio", Divide(pollers.PerJob.Calls, input.Sdk.Calls), "0.0"));
            results.Add(BenchmarkResult.Of("monitor.per_job_poll_bytes_ratio", Divide(pollers.PerJob.Bytes, input.Sdk.Bytes), "0.0"));
            results.Add(BenchmarkResult.Of("monitor.list_poll_calls_ratio", Divide(pollers.List.Calls, input.Sdk.Calls), "0.0"));
            results.Add(BenchmarkResult.Of("monitor.list_poll_bytes_ratio", Divide(pollers.List.Bytes, input.Sdk.Bytes), "0.0"));
            results.Add(new("monitor.list_poll_staleness_p99_ms", results.Single(r => r.Name == "monitor.list_poll.staleness_p99_ms").Value));
        }

        // where the time went: the runtime's own counters over the window, in each process
        results.AddRange(input.SdkCounters.Summary("monitor.sdk_process", input.WindowStart, input.WindowEnd));
        if (input.ClusterCounters is { } cluster)
        {
            results.AddRange(cluster.Summary("monitor.cluster_process", input.WindowStart, input.WindowEnd));
        }

        results.AddRange(Tail(events, input.SdkCounters, input.ClusterCounters));
        return results;
    }

    /// <summary>
    /// The slowest 1% of events and what the runtime did during each (from the store's commit to the subscriber's
    /// receipt): GC pause time, gen2 collections, the longest thread-pool queue and lock contentions, in the SDK's
    /// process and, when it runs apart, the cluster's. Set beside the same figures for the median event.
    /// </summary>
    private static IEnumerable<BenchmarkResult> Tail(
        List<(string JobId, TrainingPhase Phase, long Changed, long Received, double Ms)> events, CounterSeries sdk, CounterSeries? cluster)
    {
        if (events.Count < 100)
        {
            yield break;
        }

        var threshold = Stats.Percentile(events.Select(e => e.Ms).ToList(), 99);
        var tail = events.Where(e => e.Ms >= threshold).ToList();
        var median = Stats.Percentile(events.Select(e => e.Ms).ToList(), 50);
        var body = events.Where(e => e.Ms <= median).ToList();
        yield return new("monitor.tail.events", tail.Count.ToString(CultureInfo.InvariantCulture));
        yield return new("monitor.tail.by_phase", string.Join(",", tail.GroupBy(e => e.Phase).Select(g => $"{g.Key}={g.Count()}")));
        yield return BenchmarkResult.Of("monitor.tail.latency_ms_mean", tail.Average(e => e.Ms), "0.0");
        foreach (var (name, series) in new[] { ("sdk", sdk), ("cluster", cluster) })
        {
            if (series is null)
            {
                continue;
            }

            yield return new(
                $"monitor.tail.{name}_gc_pause_ms_mean",
                $"{tail.Average(e => series.PauseMsBetween(e.Changed, e.Received)):0.0} (median events: {body.Average(e => series.PauseMsBetween(e.Changed, e.Received)):0.0})");
            yield return new(
                $"monitor.tail.{name}_with_gen2",
                $"{tail.Count(e => series.Gen2Between(e.Changed, e.Received) > 0)}/{tail.Count} (median events: {body.Count(e => series.Gen2Between(e.Changed, e.Received) > 0)}/{body.Count})");
            yield return new(
                $"monitor.tail.{name}_threadpool_queue_max_median",
                $"{Stats.Median(tail.Select(e => (double)series.MaxPendingBetween(e.Changed, e.Received)).ToList()):0} (median events: {Stats.Median(body.Select(e => (double)series.MaxPendingBetween(e.Changed, e.Received)).ToList()):0})");
            yield return new(
                $"monitor.tail.{name}_lock_contentions_mean",
                $"{tail.Average(e => series.ContentionsBetween(e.Changed, e.Received)):0.0} (median events: {body.Average(e => series.ContentionsBetween(e.Changed, e.Received)):0.0})");
        }
    }

    private static IEnumerable<BenchmarkResult> Observer(string prefix, ObserverReport report, MonitorChanges changes)
    {
        yield return new($"{prefix}.calls", report.Calls.ToString(CultureInfo.InvariantCulture));
        yield return new($"{prefix}.bytes", report.Bytes.ToString(CultureInfo.InvariantCulture));
        foreach (var r in Staleness(prefix, changes, report.Seen))
        {
            yield return r;
        }
    }

    /// <summary>p50/p99 of (first seen − committed) over every change the observer saw; <c>.unseen</c>: changes it never saw.</summary>
    private static IEnumerable<BenchmarkResult> Staleness(string prefix, MonitorChanges changes, IEnumerable<PhaseChange> seen)
    {
        var first = seen.ToDictionary(s => (s.JobId, s.Phase), s => s.Timestamp);
        var values = new List<double>();
        var unseen = 0;
        foreach (var change in changes.All)
        {
            if (first.TryGetValue((change.JobId, change.Phase), out var at))
            {
                values.Add(Math.Max(0, Stopwatch.GetElapsedTime(change.Timestamp, at).TotalMilliseconds));
            }
            else
            {
                unseen++;
            }
        }

        yield return new($"{prefix}.staleness_p50_ms", Ms(values, 50));
        yield return new($"{prefix}.staleness_p99_ms", Ms(values, 99));
        yield return new($"{prefix}.staleness_unseen", unseen.ToString(CultureInfo.InvariantCulture));
    }

    private static double Divide(long a, long b) => b == 0 ? double.PositiveInfinity : (double)a / b;

    private static string Ms(IReadOnlyList<double> values, double p) =>
        values.Count == 0 ? "n/a" : Stats.Percentile(values, p).ToString("0.0", CultureInfo.InvariantCulture);
}
