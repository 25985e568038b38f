using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace VisionPlatform.Training.Backend.Security;

/// <summary>Counts open event streams per caller so one token cannot hold the server's subscriptions (<see cref="BackendLimitsOptions.MaxEventStreamsPerCaller"/>).</summary>
internal sealed class EventStreamLeases(IOptions<BackendLimitsOptions> options)
{
    private readonly ConcurrentDictionary<string, int> _open = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>A lease to dispose when the stream ends, or null when the caller is at its limit.</summary>
    public IDisposable? TryAcquire(string caller)
    {
        lock (_gate)
        {
            var count = _open.GetValueOrDefault(caller);
            if (count >= options.Value.MaxEventStreamsPerCaller)
            {
                return null;
            }

            _open[caller] = count + 1;
            return new Lease(this, caller);
        }
    }

    private void Release(string caller)
    {
        lock (_gate)
        {
            if (_open.TryGetValue(caller, out var count) && count > 1)
            {
                _open[caller] = count - 1;
            }
            else
            {
                _open.TryRemove(caller, out _);
            }
        }
    }

    private sealed class Lease(EventStreamLeases owner, string caller) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Release(caller);
            }
        }
    }
}
