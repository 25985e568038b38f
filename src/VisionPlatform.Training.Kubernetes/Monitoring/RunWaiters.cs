using System.Collections.Concurrent;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>One task per run (by Job name) that completes at the run's next change; thread-safe.</summary>
internal sealed class RunWaiters
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _waiters = new(StringComparer.Ordinal);

    /// <summary>A task that completes when <see cref="Signal"/> is called for the Job next. Take it before reading, so a change in between is not missed.</summary>
    public Task Next(string jobName) =>
        _waiters.GetOrAdd(jobName, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public void Signal(string jobName)
    {
        if (_waiters.TryRemove(jobName, out var waiter))
        {
            waiter.TrySetResult();
        }
    }

    public void SignalAll()
    {
        foreach (var name in _waiters.Keys)
        {
            Signal(name);
        }
    }
}
