namespace VisionPlatform.Training.Benchmarks.Scenarios;

/// <summary>
/// What per-job polling would have cost: for each job, its lifetime (create to terminal) divided by the poll interval,
/// rounded up, times the API calls one poll makes. The Kubernetes executor's own <c>GetStatusAsync</c> makes 2 calls per
/// poll (read the Job, list its pods), plus a third (a log tail) once a run has failed; the baseline takes 2, so it
/// is a lower bound for the SDK's own polling and close to what MLflow-style 5 s pollers do.
/// </summary>
internal static class MonitorPollingBaseline
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    public const int CallsPerPoll = 2;

    public static long Requests(IEnumerable<TimeSpan> lifetimes, TimeSpan interval, int callsPerPoll)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(callsPerPoll);
        long total = 0;
        foreach (var lifetime in lifetimes)
        {
            total += (long)Math.Ceiling(lifetime / interval) * callsPerPoll;
        }

        return total;
    }
}

/// <summary>Tracks when each run's terminal status was first observed by any subscriber, and when all were.</summary>
internal sealed class MonitorCompletion
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _observed = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource<long> _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _expected;

    public MonitorCompletion(int expected) => _expected = expected;

    /// <summary>Completes with the timestamp at which the last run's terminal status was observed.</summary>
    public Task<long> All => _all.Task;

    public int Observed => _observed.Count;

    public bool WasObserved(string jobId) => _observed.ContainsKey(jobId);

    public void Observe(string jobId, long timestamp)
    {
        if (_observed.TryAdd(jobId, timestamp))
        {
            CheckAll();
        }
    }

    /// <summary>A run whose start failed and that the cluster never saw is not waited for.</summary>
    public void Forget()
    {
        Interlocked.Decrement(ref _expected);
        CheckAll();
    }

    private void CheckAll()
    {
        if (_observed.Count >= Volatile.Read(ref _expected))
        {
            _all.TrySetResult(_observed.IsEmpty ? System.Diagnostics.Stopwatch.GetTimestamp() : _observed.Values.Max());
        }
    }
}
