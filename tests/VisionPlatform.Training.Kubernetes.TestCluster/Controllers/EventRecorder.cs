using System.Globalization;
using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Controllers;

/// <summary>
/// A component's core/v1 event recorder (client-go tools/record): one Event per distinct (object, field path, type,
/// reason, message, source), named <c>&lt;object&gt;.&lt;hex nanoseconds&gt;</c>; a repeat increments <c>count</c> and
/// moves <c>lastTimestamp</c> on the same Event, as the event correlator's aggregation does. Like the correlator's LRU
/// cache, it remembers only the last <see cref="DefaultCacheSize"/> distinct events: an older one that repeats starts
/// a new Event instead of growing memory without bound.
/// </summary>
/// <param name="store">Where the Events are written.</param>
/// <param name="time">The clock for timestamps and names.</param>
/// <param name="component">
/// <c>source.component</c> and <c>reportingComponent</c> (<c>job-controller</c>, <c>default-scheduler</c>, <c>kubelet</c>).
/// </param>
/// <param name="host">
/// <c>source.host</c> and <c>reportingInstance</c>: the node a kubelet runs on; null for control-plane components.
/// </param>
/// <param name="cacheSize">How many distinct events are remembered for aggregation.</param>
internal sealed class EventRecorder(ClusterStore store, TimeProvider time, string component, string? host = null, int cacheSize = EventRecorder.DefaultCacheSize)
{
    /// <summary>client-go's maxLruCacheEntries.</summary>
    public const int DefaultCacheSize = 4096;

    private readonly Dictionary<string, string> _seen = new(StringComparer.Ordinal);
    private readonly Queue<string> _seenOrder = new();
    private readonly Lock _gate = new();

    /// <summary>
    /// Records an event about <paramref name="involved"/> (any stored object with kind and apiVersion);
    /// <paramref name="fieldPath"/> names a part of it, e.g. <c>spec.containers{trainer}</c> for a container's events.
    /// </summary>
    public void Record(JsonObject involved, string type, string reason, string message, string? fieldPath = null)
    {
        ArgumentNullException.ThrowIfNull(involved);
        var ns = involved.Namespace();
        var key = string.Join("\u0000", involved.Str("kind"), ns, involved.Name(), involved.Uid(), fieldPath, type, reason, message);
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (_seen.TryGetValue(key, out var existing) && TryIncrement(ns, existing, now))
            {
                return;
            }

            try
            {
                Remember(key, Create(involved, fieldPath, ns, type, reason, message, now));
            }
            catch (StoreException)
            {
                // the namespace is gone or terminating: the event is dropped, as the broadcaster drops it
            }
        }
    }

    private void Remember(string key, string name)
    {
        if (_seen.TryAdd(key, name))
        {
            _seenOrder.Enqueue(key);
            while (_seenOrder.Count > cacheSize)
            {
                _seen.Remove(_seenOrder.Dequeue());
            }
        }
        else
        {
            // the remembered Event was deleted (by a client, or with its namespace): the new one takes its place
            _seen[key] = name;
        }
    }

    private bool TryIncrement(string ns, string name, DateTimeOffset now)
    {
        try
        {
            store.Update(ResourceType.Events, ns, name, e =>
            {
                e["count"] = (e.Long("count") ?? 1) + 1;
                e["lastTimestamp"] = KubeJson.Timestamp(now);
                return e;
            });
            return true;
        }
        catch (StoreException ex) when (ex.Code == 404)
        {
            return false;
        }
    }

    private string Create(JsonObject involved, string? fieldPath, string ns, string type, string reason, string message, DateTimeOffset now)
    {
        var stamp = KubeJson.Timestamp(now);
        var nanos = (now.ToUnixTimeMilliseconds() * 1_000_000) + (now.Ticks % TimeSpan.TicksPerMillisecond * 100);
        for (var attempt = 0; ; attempt++)
        {
            var name = $"{involved.Name()}.{(nanos + attempt).ToString("x", CultureInfo.InvariantCulture)}";
            var reference = new JsonObject
            {
                ["kind"] = involved.Str("kind"),
                ["namespace"] = ns,
                ["name"] = involved.Name(),
                ["uid"] = involved.Uid(),
                ["apiVersion"] = involved.Str("apiVersion"),
                ["resourceVersion"] = involved.ObjOrNull("metadata").Str("resourceVersion"),
            };
            if (fieldPath is not null)
            {
                reference["fieldPath"] = fieldPath;
            }

            var source = new JsonObject { ["component"] = component };
            if (host is not null)
            {
                source["host"] = host;
            }

            try
            {
                store.Create(ResourceType.Events, ns, new JsonObject
                {
                    ["apiVersion"] = "v1",
                    ["kind"] = "Event",
                    ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
                    ["involvedObject"] = reference,
                    ["reason"] = reason,
                    ["message"] = message,
                    ["source"] = source,
                    ["firstTimestamp"] = stamp,
                    ["lastTimestamp"] = stamp,
                    ["count"] = 1,
                    ["type"] = type,
                    ["eventTime"] = null,
                    ["reportingComponent"] = component,
                    ["reportingInstance"] = host ?? "",
                });
                return name;
            }
            catch (StoreException ex) when (ex.Code == 409 && attempt < 100)
            {
                // same nanosecond as another event of this object: take the next one
            }
        }
    }
}
