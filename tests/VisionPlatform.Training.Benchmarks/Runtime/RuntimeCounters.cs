using System.Diagnostics;

namespace VisionPlatform.Training.Benchmarks.Runtime;

/// <summary>One reading of the runtime's own counters (cumulative ones as read; differences give rates).</summary>
/// <param name="Timestamp">Stopwatch ticks (CLOCK_MONOTONIC on Linux, so comparable across processes on one machine).</param>
/// <param name="PauseMs">GC.GetTotalPauseDuration, ms since the process started.</param>
/// <param name="Gen0">GC.CollectionCount(0).</param>
/// <param name="Gen1">GC.CollectionCount(1).</param>
/// <param name="Gen2">GC.CollectionCount(2).</param>
/// <param name="Pending">ThreadPool.PendingWorkItemCount: work queued, not yet picked up.</param>
/// <param name="Threads">ThreadPool.ThreadCount.</param>
/// <param name="Contentions">Monitor.LockContentionCount (lock/Monitor waits, cumulative).</param>
/// <param name="AllocatedMb">GC.GetTotalAllocatedBytes, MiB.</param>
internal sealed record CounterSample(long Timestamp, double PauseMs, int Gen0, int Gen1, int Gen2, long Pending, int Threads, long Contentions, double AllocatedMb);

/// <summary>
/// Samples this process's runtime counters every <see cref="Interval"/> on a dedicated thread (not the thread pool, so
/// a starved pool does not stop the sampling that is meant to show it), until disposed.
/// </summary>
internal sealed class RuntimeCounterSampler : IDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    private readonly List<CounterSample> _samples = [];
    private readonly Lock _gate = new();
    private readonly Thread _thread;
    private volatile bool _stop;

    public RuntimeCounterSampler()
    {
        Take();
        _thread = new Thread(Loop) { IsBackground = true, Name = "bench-counters", Priority = ThreadPriority.AboveNormal };
        _thread.Start();
    }

    public IReadOnlyList<CounterSample> Samples
    {
        get
        {
            lock (_gate)
            {
                return [.. _samples];
            }
        }
    }

    public static CounterSample Read() => new(
        Stopwatch.GetTimestamp(),
        GC.GetTotalPauseDuration().TotalMilliseconds,
        GC.CollectionCount(0),
        GC.CollectionCount(1),
        GC.CollectionCount(2),
        ThreadPool.PendingWorkItemCount,
        ThreadPool.ThreadCount,
        Monitor.LockContentionCount,
        GC.GetTotalAllocatedBytes() / (1024.0 * 1024.0));

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
        Take();
    }

    private void Loop()
    {
        while (!_stop)
        {
            Thread.Sleep(Interval);
            Take();
        }
    }

    private void Take()
    {
        var sample = Read();
        lock (_gate)
        {
            _samples.Add(sample);
        }
    }
}

/// <summary>What a series of samples says about a window, and about the moments of a list of slow events.</summary>
internal sealed class CounterSeries(IReadOnlyList<CounterSample> samples)
{
    public IReadOnlyList<CounterSample> Samples { get; } = samples;

    /// <summary>GC pause time inside [from, to] (whole sample intervals that overlap it).</summary>
    public double PauseMsBetween(long from, long to) => Delta(from, to, s => s.PauseMs);

    /// <summary>Lock contentions inside [from, to].</summary>
    public double ContentionsBetween(long from, long to) => Delta(from, to, s => s.Contentions);

    /// <summary>Gen2 collections inside [from, to].</summary>
    public double Gen2Between(long from, long to) => Delta(from, to, s => s.Gen2);

    /// <summary>The longest thread-pool queue sampled inside [from, to].</summary>
    public long MaxPendingBetween(long from, long to)
    {
        long max = 0;
        foreach (var s in Samples)
        {
            if (s.Timestamp >= from && s.Timestamp <= to + Ticks(RuntimeCounterSampler.Interval))
            {
                max = Math.Max(max, s.Pending);
            }
        }

        return max;
    }

    /// <summary>Summary keys over [from, to], prefixed by <paramref name="prefix"/>.</summary>
    public IEnumerable<BenchmarkResult> Summary(string prefix, long from, long to)
    {
        var inWindow = Samples.Where(s => s.Timestamp >= from && s.Timestamp <= to).ToList();
        if (inWindow.Count < 2)
        {
            yield break;
        }

        var first = inWindow[0];
        var last = inWindow[^1];
        var pauses = new List<double>();
        for (var i = 1; i < inWindow.Count; i++)
        {
            pauses.Add(inWindow[i].PauseMs - inWindow[i - 1].PauseMs);
        }

        var pending = inWindow.Select(s => (double)s.Pending).ToList();
        yield return BenchmarkResult.Of($"{prefix}.gc_pause_ms", last.PauseMs - first.PauseMs, "0.0");
        yield return BenchmarkResult.Of($"{prefix}.gc_pause_max_per_20ms_ms", pauses.Max(), "0.0");
        yield return new($"{prefix}.gc_collections_gen0_gen1_gen2", $"{last.Gen0 - first.Gen0}/{last.Gen1 - first.Gen1}/{last.Gen2 - first.Gen2}");
        yield return BenchmarkResult.Of($"{prefix}.allocated_mb", last.AllocatedMb - first.AllocatedMb, "0.0");
        yield return BenchmarkResult.Of($"{prefix}.threadpool_queue_p99", Stats.Percentile(pending, 99), "0");
        yield return BenchmarkResult.Of($"{prefix}.threadpool_queue_max", pending.Max(), "0");
        yield return BenchmarkResult.Of($"{prefix}.threadpool_threads_max", inWindow.Max(s => s.Threads), "0");
        yield return BenchmarkResult.Of($"{prefix}.lock_contentions", last.Contentions - first.Contentions, "0");
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    private double Delta(long from, long to, Func<CounterSample, double> value)
    {
        // the last sample at or before `from` and the first at or after `to` bracket the interval
        CounterSample? before = null;
        CounterSample? after = null;
        foreach (var s in Samples)
        {
            if (s.Timestamp <= from)
            {
                before = s;
            }

            if (s.Timestamp >= to)
            {
                after = s;
                break;
            }
        }

        before ??= Samples.Count > 0 ? Samples[0] : null;
        after ??= Samples.Count > 0 ? Samples[^1] : null;
        return before is null || after is null ? 0 : value(after) - value(before);
    }
}
