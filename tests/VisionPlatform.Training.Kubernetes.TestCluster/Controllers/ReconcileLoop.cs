using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Controllers;

/// <summary>
/// Level-triggered reconciliation, as controllers built on informers behave: any change to a watched type (or an
/// explicit <see cref="Kick"/>) wakes the loop, which then looks at the whole current state. A periodic resync and the
/// delay a pass asks for (deadlines, back-off, grace periods) wake it too.
/// </summary>
internal sealed partial class ReconcileLoop : IAsyncDisposable
{
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _tasks = [];
    private readonly string _name;
    private readonly ClusterStore _store;
    private readonly IReadOnlyList<ResourceType> _watched;
    private readonly Func<CancellationToken, Task<TimeSpan?>> _reconcile;
    private readonly TimeSpan _resync;
    private readonly TimeSpan _minInterval;
    private readonly ILogger _logger;

    /// <param name="minInterval">The shortest time from the start of one pass to the start of the next (0: none); changes
    /// that arrive meanwhile are handled together by the next pass.</param>
    public ReconcileLoop(
        string name, ClusterStore store, IReadOnlyList<ResourceType> watched, Func<CancellationToken, Task<TimeSpan?>> reconcile,
        TimeSpan resync, ILogger logger, TimeSpan minInterval = default)
    {
        _minInterval = minInterval;
        _name = name;
        _store = store;
        _watched = watched;
        _reconcile = reconcile;
        _resync = resync;
        _logger = logger;
    }

    public void Start()
    {
        foreach (var type in _watched)
        {
            _tasks.Add(Task.Run(() => WatchAsync(type, _stop.Token)));
        }

        _tasks.Add(Task.Run(() => RunAsync(_stop.Token)));
        Kick();
    }

    /// <summary>Asks for a reconciliation pass soon.</summary>
    public void Kick() => _wake.Writer.TryWrite(true);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_tasks).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // stopping
        }

        _stop.Dispose();
    }

    private async Task WatchAsync(ResourceType type, CancellationToken cancellationToken)
    {
        var from = _store.ResourceVersion;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var reader = _store.Watch(type, null, from, cancellationToken);
                await foreach (var change in reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                {
                    from = change.ResourceVersion;
                    Kick();
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (StoreException)
            {
                // history expired: start again from now; the next pass sees the current state anyway
                from = _store.ResourceVersion;
                Kick();
            }
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var next = _resync;
        while (!cancellationToken.IsCancellationRequested)
        {
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                timeout.CancelAfter(next);
                try
                {
                    await _wake.Reader.ReadAsync(timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // periodic resync
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            var passStarted = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                var requested = await _reconcile(cancellationToken).ConfigureAwait(false);
                next = requested is { } r && r < _resync ? (r < TimeSpan.FromMilliseconds(10) ? TimeSpan.FromMilliseconds(10) : r) : _resync;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // a controller keeps running after a failed pass, as a real one requeues
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogPassFailed(_logger, _name, ex);
                next = TimeSpan.FromMilliseconds(200);
            }

            // with thousands of objects a pass is expensive: let the changes of the next interval pile up into one pass
            var rest = _minInterval - System.Diagnostics.Stopwatch.GetElapsedTime(passStarted);
            if (rest > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(rest, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                next = next > rest ? next - rest : TimeSpan.Zero;
            }
        }
    }

    [LoggerMessage(EventId = 4100, Level = LogLevel.Warning, Message = "{Loop} reconciliation pass failed; retrying")]
    private static partial void LogPassFailed(ILogger logger, string loop, Exception exception);
}
