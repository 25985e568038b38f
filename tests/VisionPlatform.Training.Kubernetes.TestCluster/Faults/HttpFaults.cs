using System.Collections.Concurrent;
using VisionPlatform.Training.Kubernetes.TestCluster.Api;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Faults;

/// <summary>
/// Faults the API server injects into its HTTP traffic: failed and delayed responses, dropped watches, expired
/// watch history and refused connections. Rules apply to requests that arrive after they are added. Thread-safe.
/// </summary>
public sealed class HttpFaults
{
    private readonly Lock _gate = new();
    private readonly List<FaultRule> _rules = [];
    private readonly ConcurrentDictionary<int, Action> _watches = new();
    private readonly ConcurrentDictionary<int, WatchRegistration> _registrations = new();
    private readonly ClusterStore _store;
    private readonly Func<IListenerControl> _listener;
    private int _nextWatchId;

    internal HttpFaults(ClusterStore store, Func<IListenerControl> listener)
    {
        _store = store;
        _listener = listener;
    }

    /// <summary>Number of watch streams currently open.</summary>
    public int OpenWatches => _watches.Count;

    /// <summary>True while the API server refuses connections.</summary>
    public bool RefusingConnections => _listener().IsStopped;

    /// <summary>
    /// Answers the next <paramref name="count"/> requests that match with <paramref name="statusCode"/>
    /// (500 InternalError, 503 ServiceUnavailable, 429 TooManyRequests with a <c>Retry-After</c> header, or any
    /// other code) instead of handling them.
    /// </summary>
    /// <param name="count">How many requests fail.</param>
    /// <param name="statusCode">The HTTP status to answer with.</param>
    /// <param name="match">Which requests; all when null.</param>
    /// <param name="retryAfterSeconds">Retry-After seconds for 429/503 (429 defaults to 1, as the real server).</param>
    public void FailNext(int count, int statusCode = 500, Func<ApiRequest, bool>? match = null, int? retryAfterSeconds = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(statusCode, 400);
        Add(new FaultRule(count, match, statusCode, retryAfterSeconds, TimeSpan.Zero));
    }

    /// <summary>Delays the next <paramref name="count"/> matching requests by <paramref name="delay"/> before handling them.</summary>
    public void DelayNext(int count, TimeSpan delay, Func<ApiRequest, bool>? match = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        Add(new FaultRule(count, match, null, null, delay));
    }

    /// <summary>Removes every pending failure and delay rule.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _rules.Clear();
        }
    }

    /// <summary>Aborts every open watch connection mid-stream (the client sees the connection drop).</summary>
    /// <returns>How many watches were dropped.</returns>
    public int DropWatches()
    {
        var dropped = 0;
        foreach (var (id, abort) in _watches)
        {
            if (_watches.TryRemove(id, out _))
            {
                abort();
                dropped++;
            }
        }

        return dropped;
    }

    /// <summary>
    /// Makes every open watch go silent, as a half-open connection or a stuck proxy does: the connection stays open but
    /// no further event or bookmark reaches the client, and <c>timeoutSeconds</c> no longer ends the stream. Watches
    /// opened later are not affected.
    /// </summary>
    /// <returns>How many watches went silent.</returns>
    public int StallWatches()
    {
        var stalled = 0;
        foreach (var registration in _registrations.Values)
        {
            if (!registration.Stalled)
            {
                registration.Stalled = true;
                stalled++;
            }
        }

        return stalled;
    }

    /// <summary>Forgets the watch history: any watch from an older resourceVersion gets an ERROR 410 Expired.</summary>
    public void ExpireWatchHistory() => _store.ExpireHistory();

    /// <summary>Stops listening: open connections are cut and new ones are refused, until <see cref="AcceptConnectionsAsync"/>.</summary>
    public Task RefuseConnectionsAsync(CancellationToken cancellationToken = default)
    {
        DropWatches();
        return _listener().StopListeningAsync(cancellationToken);
    }

    /// <summary>Listens again, on the same port.</summary>
    public Task AcceptConnectionsAsync(CancellationToken cancellationToken = default) =>
        _listener().StartListeningAsync(cancellationToken);

    internal (int? StatusCode, int? RetryAfterSeconds, TimeSpan Delay) Take(ApiRequest request)
    {
        int? status = null;
        int? retryAfter = null;
        var delay = TimeSpan.Zero;
        lock (_gate)
        {
            foreach (var rule in _rules.ToList())
            {
                if (rule.Match is not null && !rule.Match(request))
                {
                    continue;
                }

                if (rule.StatusCode is { } code)
                {
                    if (status is not null)
                    {
                        continue;
                    }

                    status = code;
                    retryAfter = rule.RetryAfterSeconds;
                }
                else
                {
                    delay += rule.Delay;
                }

                if (--rule.Remaining == 0)
                {
                    _rules.Remove(rule);
                }
            }
        }

        return (status, retryAfter, delay);
    }

    internal WatchRegistration RegisterWatch(Action abort)
    {
        var id = Interlocked.Increment(ref _nextWatchId);
        _watches[id] = abort;
        var registration = new WatchRegistration(() =>
        {
            _watches.TryRemove(id, out _);
            _registrations.TryRemove(id, out _);
        });
        _registrations[id] = registration;
        return registration;
    }

    private void Add(FaultRule rule)
    {
        lock (_gate)
        {
            _rules.Add(rule);
        }
    }

    private sealed class FaultRule(int count, Func<ApiRequest, bool>? match, int? statusCode, int? retryAfterSeconds, TimeSpan delay)
    {
        public int Remaining { get; set; } = count;

        public Func<ApiRequest, bool>? Match { get; } = match;

        public int? StatusCode { get; } = statusCode;

        public int? RetryAfterSeconds { get; } = retryAfterSeconds;

        public TimeSpan Delay { get; } = delay;
    }

    /// <summary>One open watch: unregisters on dispose; <see cref="Stalled"/> silences it.</summary>
    internal sealed class WatchRegistration(Action dispose) : IDisposable
    {
        private volatile bool _stalled;

        public bool Stalled
        {
            get => _stalled;
            set => _stalled = value;
        }

        public void Dispose() => dispose();
    }
}

/// <summary>Stops and restarts the API server's listener.</summary>
internal interface IListenerControl
{
    bool IsStopped { get; }

    Task StopListeningAsync(CancellationToken cancellationToken);

    Task StartListeningAsync(CancellationToken cancellationToken);
}
