namespace VisionPlatform.Training.Benchmarks.Scenarios;

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
