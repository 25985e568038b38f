using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using VisionPlatform.Training.Kubernetes.TestCluster.Api.Tables;
using VisionPlatform.Training.Kubernetes.TestCluster.Faults;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Api;

/// <summary>
/// Serves <c>?watch=true</c>: 200 with headers flushed at once, then one compact JSON event per line
/// (<c>{"type":"ADDED","object":{...}}</c>), flushed per event. Selector transitions become ADDED/DELETED,
/// bookmarks come every <see cref="KubernetesTestClusterOptions.WatchBookmarkInterval"/> when allowed, an
/// expired resourceVersion is one ERROR event (code 410) and the end of the stream, and <c>timeoutSeconds</c>
/// ends the stream normally.
/// </summary>
internal sealed class WatchStreamer(ClusterContext context, HttpFaults faults)
{
    private const string InitialEventsEndAnnotation = "k8s.io/initial-events-end";

    public async Task ServeAsync(HttpContext http, ResourceType type, string? ns, TableConverter? table = null)
    {
        var labels = LabelSelector.Parse(HttpIO.Query(http, "labelSelector"));
        var fields = FieldSelector.Parse(type, HttpIO.Query(http, "fieldSelector"));
        var bookmarks = HttpIO.QueryBool(http, "allowWatchBookmarks");
        var sendInitialEvents = HttpIO.QueryBool(http, "sendInitialEvents");
        var timeout = HttpIO.QueryLong(http, "timeoutSeconds") is { } seconds and > 0
            ? TimeSpan.FromSeconds(seconds)
            : context.Options.DefaultWatchTimeout;
        var rvText = HttpIO.Query(http, "resourceVersion");
        long fromRv = 0;
        if (!string.IsNullOrEmpty(rvText) && !long.TryParse(rvText, NumberStyles.None, CultureInfo.InvariantCulture, out fromRv))
        {
            throw StoreException.BadRequest($"invalid resource version: {rvText}");
        }

        if (HttpIO.Query(http, "continue") is { Length: > 0 })
        {
            throw StoreException.BadRequest("a continue parameter is not allowed with watch");
        }

        if (sendInitialEvents && fromRv > 0)
        {
            throw StoreException.Invalid("ListOptions.meta.k8s.io", "meta.k8s.io", "ListOptions", "",
                [new StatusCause("FieldValueForbidden", "Forbidden: sendInitialEvents is forbidden when resourceVersion is not \"\" or \"0\"", "sendInitialEvents")]);
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        stop.CancelAfter(timeout);
        http.Response.StatusCode = 200;
        http.Response.ContentType = HttpIO.JsonContentType;
        using var drop = faults.RegisterWatch(http.Abort);

        StoreWatch watch;
        try
        {
            watch = context.Store.Subscribe(type, ns, fromRv, stop.Token);
        }
        catch (StoreException error)
        {
            // Past authn/authz/admission with a parsed resourceVersion, errors travel as an ERROR event.
            await http.Response.StartAsync(http.RequestAborted).ConfigureAwait(false);
            await WriteLineAsync(http, new JsonObject { ["type"] = "ERROR", ["object"] = error.ToStatus() }).ConfigureAwait(false);
            return;
        }

        using (watch)
        {
            // Headers go out before any event, as the apiserver flushes them at once.
            await http.Response.StartAsync(http.RequestAborted).ConfigureAwait(false);
            await http.Response.Body.FlushAsync(http.RequestAborted).ConfigureAwait(false);
            var initialEnd = sendInitialEvents && bookmarks;
            if (initialEnd)
            {
                watch.RequestBookmark();
            }

            using var ticker = bookmarks ? StartBookmarks(watch, stop.Token) : null;
            var headers = true;
            try
            {
                await foreach (var change in watch.Reader.ReadAllAsync(stop.Token).ConfigureAwait(false))
                {
                    var line = Render(type, change, labels, fields, ref initialEnd);
                    if (line is not null && table is not null && change.Type != StoreEventType.Bookmark)
                    {
                        // kubectl get -w: each object becomes a one-row Table, with the column definitions only in the first
                        line["object"] = table.FromObject(type, (JsonObject)line["object"]!, headers);
                        headers = false;
                    }

                    if (line is not null && !drop.Stalled)
                    {
                        await WriteLineAsync(http, line).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (!http.RequestAborted.IsCancellationRequested)
            {
                // timeoutSeconds (or the server's own watch timeout) passed: end the stream normally.
            }

            if (drop.Stalled)
            {
                // A stalled connection never delivers its end either: hold it open until the client gives up.
                try
                {
                    await Task.Delay(Timeout.InfiniteTimeSpan, http.RequestAborted).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }
    }

    private static JsonObject? Render(ResourceType type, StoreEvent change, LabelSelector labels, FieldSelector fields, ref bool initialEnd)
    {
        if (change.Type == StoreEventType.Bookmark)
        {
            var metadata = new JsonObject { ["resourceVersion"] = change.ResourceVersion.ToString(CultureInfo.InvariantCulture) };
            if (initialEnd)
            {
                metadata["annotations"] = new JsonObject { [InitialEventsEndAnnotation] = "true" };
                initialEnd = false;
            }

            return Event("BOOKMARK", new JsonObject { ["kind"] = type.Kind, ["apiVersion"] = type.ApiVersion, ["metadata"] = metadata });
        }

        bool Matches(JsonObject? o) => o is not null && labels.Matches(Json.StringMap(o, "metadata", "labels")) && fields.Matches(o);

        var now = Matches(change.Object);
        return change.Type switch
        {
            StoreEventType.Added => now ? Event("ADDED", change.Object) : null,
            StoreEventType.Deleted => now ? Event("DELETED", change.Object) : null,
            _ => (Matches(change.PreviousObject), now) switch
            {
                (true, true) => Event("MODIFIED", change.Object),
                (false, true) => Event("ADDED", change.Object),
                (true, false) => Event("DELETED", change.Object),
                _ => null,
            },
        };
    }

    private static JsonObject Event(string type, JsonObject obj) => new() { ["type"] = type, ["object"] = obj };

    private Timer StartBookmarks(StoreWatch watch, CancellationToken token)
    {
        var interval = context.Options.WatchBookmarkInterval;
        return new Timer(_ =>
        {
            if (!token.IsCancellationRequested)
            {
                watch.RequestBookmark();
            }
        }, null, interval, interval);
    }

    private static async Task WriteLineAsync(HttpContext http, JsonObject line)
    {
        var bytes = Encoding.UTF8.GetBytes(Json.Compact(line) + "\n");
        await http.Response.Body.WriteAsync(bytes, http.RequestAborted).ConfigureAwait(false);
        await http.Response.Body.FlushAsync(http.RequestAborted).ConfigureAwait(false);
    }
}
