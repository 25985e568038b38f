using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Keeps one resource type of one namespace current, as client-go's reflector does (KubernetesClient has none):
/// list (paginated), then watch from the list's resourceVersion with bookmarks and <c>timeoutSeconds</c>; resume from the
/// last resourceVersion seen whenever a watch ends, whether the server closed it (which the client reports as a normal
/// end), the connection dropped, or no event nor bookmark came for <see cref="KubernetesMonitorOptions.IdleTimeout"/>;
/// re-list when the server answers 410 Gone (history expired); back off exponentially, with jitter, while the API
/// fails. An optional informer (Events) ends for good, after one log line, when the host may not read the resource (403) or
/// the server does not serve it (404). One instance, one loop; not thread-safe beyond <see cref="Synced"/> and
/// <see cref="ResourceVersion"/>.
/// </summary>
internal sealed class ResourceInformer<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly string _resource;
    private readonly Func<string?, CancellationToken, Task<(IList<T> Items, string? ResourceVersion, string? Continue)>> _listPage;
    private readonly Func<string, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType Type, T Object)>> _watch;
    private readonly IInformerTarget<T> _target;
    private readonly KubernetesMonitorOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly bool _optional;
    private readonly string _unavailableEffect;
    private volatile bool _synced;
    private volatile string? _resourceVersion;
    private int _failures;

    public ResourceInformer(
        string resource,
        Func<string?, CancellationToken, Task<(IList<T> Items, string? ResourceVersion, string? Continue)>> listPage,
        Func<string, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType Type, T Object)>> watch,
        IInformerTarget<T> target,
        KubernetesMonitorOptions options,
        TimeProvider time,
        ILogger logger,
        bool optional = false,
        string? unavailableEffect = null)
    {
        _optional = optional;
        _unavailableEffect = unavailableEffect ?? "run statuses will not show pods the cluster refuses to create";
        _resource = resource;
        _listPage = listPage;
        _watch = watch;
        _target = target;
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary>Whether a list completed and no re-list is pending (the cache reflects the server, up to the watch's delay).</summary>
    public bool Synced => _synced;

    /// <summary>The last resourceVersion seen (list, event or bookmark).</summary>
    public string? ResourceVersion => _resourceVersion;

    /// <summary>Lists, watches, reconnects and re-lists until <paramref name="cancellationToken"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var needList = true;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (needList)
                {
                    await ListAsync(cancellationToken).ConfigureAwait(false);
                    needList = false;
                }

                needList = await WatchOnceAsync(cancellationToken).ConfigureAwait(false);
                if (needList)
                {
                    SetSynced(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (HttpOperationException ex) when (KubernetesErrors.Is(ex, HttpStatusCode.Gone))
            {
                // An expired continue token or watch resourceVersion answered at the HTTP level.
                MonitorLog.HistoryExpired(_logger, _resource, _resourceVersion ?? "-");
                SetSynced(false);
                needList = true;
            }
            catch (HttpOperationException ex) when (_optional && (KubernetesErrors.Is(ex, HttpStatusCode.Forbidden) || KubernetesErrors.Is(ex, HttpStatusCode.NotFound)))
            {
                // An optional resource the host may not read (RBAC) or the server does not serve: said once, then left alone.
                MonitorLog.OptionalResourceUnavailable(_logger, _resource, Describe(ex), _unavailableEffect);
                return;
            }
            catch (Exception ex) when (IsApiFailure(ex))
            {
                var delay = NextBackoff();
                // A server that keeps failing (down, or not a Kubernetes API server) is reported at the 1st, 10th, 100th ...
                // failure in a row, not on every retry: the rest go to Debug so the host's log is not flooded.
                var reason = Describe(ex);
                if (IsPowerOfTen(_failures))
                {
                    MonitorLog.ApiFailed(_logger, _resource, needList ? "list" : "watch", _failures, delay.TotalMilliseconds, reason);
                }
                else
                {
                    MonitorLog.ApiFailedAgain(_logger, _resource, needList ? "list" : "watch", _failures, delay.TotalMilliseconds, reason);
                }

                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task ListAsync(CancellationToken cancellationToken)
    {
        var items = new List<T>();
        string? listVersion = null;
        string? next = null;
        do
        {
            var page = await _listPage(next, cancellationToken).ConfigureAwait(false);
            items.AddRange(page.Items);
            // Every page of a paginated list is served from the first page's snapshot: its resourceVersion is the list's.
            listVersion ??= page.ResourceVersion;
            next = page.Continue;
        }
        while (!string.IsNullOrEmpty(next));

        _resourceVersion = listVersion;
        _target.Replace(items, listVersion);
        _failures = 0;
        MonitorLog.Listed(_logger, _resource, items.Count, listVersion ?? "-");
        SetSynced(true);
    }

    /// <summary>One watch request; returns whether a re-list is needed.</summary>
    private async Task<bool> WatchOnceAsync(CancellationToken cancellationToken)
    {
        var gone = false;
        Exception? streamError = null;
        var events = 0;
        var started = _time.GetTimestamp();
        using var idle = new CancellationTokenSource(_options.IdleTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, idle.Token);
        void OnError(Exception error)
        {
            if (error is KubernetesException { Status.Code: 410 })
            {
                gone = true;
            }
            else
            {
                streamError ??= error;
            }
        }

        try
        {
            await foreach (var (type, item) in _watch(_resourceVersion ?? "0", OnError, linked.Token).ConfigureAwait(false))
            {
                idle.CancelAfter(_options.IdleTimeout);
                events++;
                if (item?.Metadata?.ResourceVersion is { Length: > 0 } rv)
                {
                    _resourceVersion = rv;
                }

                if (type is WatchEventType.Added or WatchEventType.Modified or WatchEventType.Deleted && item is not null)
                {
                    _target.Apply(type, item);
                }
                else if (type == WatchEventType.Bookmark && item?.Metadata?.ResourceVersion is { Length: > 0 } bookmark)
                {
                    _target.Advanced(bookmark);
                }

                _failures = 0;
            }
        }
        catch (OperationCanceledException) when (idle.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            MonitorLog.WatchStalled(_logger, _resource, _options.IdleTimeout.TotalSeconds, _resourceVersion ?? "-");
            return false;
        }
        catch (HttpRequestException ex) when (ex.InnerException is EndOfStreamException)
        {
            // The client's way of saying the server closed a watch that had sent nothing (issue #893): a normal end.
        }

        if (gone)
        {
            MonitorLog.HistoryExpired(_logger, _resource, _resourceVersion ?? "-");
            return true;
        }

        if (streamError is not null)
        {
            throw new IOException($"The {_resource} watch reported an error: {streamError.Message}", streamError);
        }

        MonitorLog.WatchEnded(_logger, _resource, events, _resourceVersion ?? "-");
        if (events == 0 && _time.GetElapsedTime(started) < _options.BackoffBase)
        {
            // A server (or proxy) that closes every watch at once must not turn this loop into a busy one.
            await Task.Delay(NextBackoff(), _time, cancellationToken).ConfigureAwait(false);
        }

        return false;
    }

    private void SetSynced(bool synced)
    {
        if (_synced != synced)
        {
            _synced = synced;
            _target.SyncChanged();
        }
    }

    private static bool IsPowerOfTen(int value)
    {
        while (value >= 10 && value % 10 == 0)
        {
            value /= 10;
        }

        return value == 1;
    }

    private TimeSpan NextBackoff()
    {
        var failures = Math.Min(++_failures, 30);
        var ceiling = Math.Min(_options.BackoffMax.TotalMilliseconds, _options.BackoffBase.TotalMilliseconds * Math.Pow(2, failures - 1));
#pragma warning disable CA5394 // Jitter spreads reconnects of many hosts; it needs no cryptographic randomness.
        return TimeSpan.FromMilliseconds(ceiling * (0.5 + (Random.Shared.NextDouble() * 0.5)));
#pragma warning restore CA5394
    }

    private static bool IsApiFailure(Exception ex) =>
        ex is HttpOperationException or HttpRequestException or IOException or KubernetesException or TrainingException
            or OperationCanceledException or System.Text.Json.JsonException;

    private static string Describe(Exception ex) => ex switch
    {
        HttpOperationException http => $"{(int)http.Response.StatusCode} {KubernetesErrors.ReadStatus(http)?.Message ?? http.Response.ReasonPhrase}",
        _ => ex.Message,
    };
}
