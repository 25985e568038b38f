using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace VisionPlatform.Training.Routing;

/// <summary>
/// The last known availability of each executor. A start reads the cached answer; when it is older than
/// <see cref="ExecutorAvailabilityOptions.RefreshInterval"/> one probe runs (callers arriving meanwhile share it), bounded
/// by <see cref="ExecutorAvailabilityOptions.ProbeTimeout"/>. Real call failures overwrite the cache with what they saw,
/// so an outage is noticed by the first failed start, not the next probe.
/// </summary>
internal sealed class ExecutorAvailabilityCache(TimeProvider time, Func<ExecutorAvailabilityOptions> options, ILogger logger)
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.OrdinalIgnoreCase);

    public async Task<ExecutorAvailability> GetAsync(ITrainingExecutor executor, CancellationToken cancellationToken)
    {
        var entry = _entries.GetOrAdd(executor.Name, _ => new Entry());
        Task<ExecutorAvailability> probe;
        lock (entry)
        {
            if (entry.Last is { } last && time.GetUtcNow() - entry.StampedAt < options().RefreshInterval)
            {
                return last;
            }

            probe = entry.InFlight ??= ProbeAsync(executor, entry);
        }

        return await probe.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<ExecutorAvailability> RefreshAsync(ITrainingExecutor executor, CancellationToken cancellationToken)
    {
        var entry = _entries.GetOrAdd(executor.Name, _ => new Entry());
        Task<ExecutorAvailability> probe;
        lock (entry)
        {
            probe = entry.InFlight ??= ProbeAsync(executor, entry);
        }

        return await probe.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Records what a real call saw: the executor could not be reached.</summary>
    public void ReportUnavailable(string executorName, string reason)
    {
        var entry = _entries.GetOrAdd(executorName, _ => new Entry());
        Set(executorName, entry, ExecutorAvailability.Unavailable(reason, time.GetUtcNow()));
    }

    private async Task<ExecutorAvailability> ProbeAsync(ITrainingExecutor executor, Entry entry)
    {
        // Yield so the caller's lock is released before the probe's synchronous part runs.
        await Task.Yield();
        var timeout = options().ProbeTimeout;
        ExecutorAvailability result;
        using (var cts = new CancellationTokenSource(timeout, time))
        {
            try
            {
                // WaitAsync bounds probes that ignore their token.
                result = await executor.CheckAvailabilityAsync(cts.Token).WaitAsync(timeout, time, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or TimeoutException)
            {
                result = ExecutorAvailability.Unavailable($"the availability probe did not answer within {timeout.TotalSeconds:0.###} s (Training:Availability:ProbeTimeout)", time.GetUtcNow());
            }
#pragma warning disable CA1031 // A probe that throws means "unavailable", whatever it threw.
            catch (Exception e)
#pragma warning restore CA1031
            {
                result = ExecutorAvailability.Unavailable($"the availability probe failed: {ExecutorFailureClassifier.Describe(e)}", time.GetUtcNow());
            }
        }

        lock (entry)
        {
            entry.InFlight = null;
        }

        Set(executor.Name, entry, result);
        return result;
    }

    private void Set(string name, Entry entry, ExecutorAvailability value)
    {
        ExecutorAvailability? previous;
        lock (entry)
        {
            previous = entry.Last;
            entry.Last = value;
            entry.StampedAt = time.GetUtcNow();
        }

        if (previous is null || previous.IsAvailable != value.IsAvailable)
        {
            if (value.IsAvailable)
            {
                RoutingLog.ExecutorAvailable(logger, name);
            }
            else
            {
                RoutingLog.ExecutorUnavailable(logger, name, value.Reason ?? "unknown");
            }
        }
    }

    private sealed class Entry
    {
        public ExecutorAvailability? Last { get; set; }

        public DateTimeOffset StampedAt { get; set; }

        public Task<ExecutorAvailability>? InFlight { get; set; }
    }
}
