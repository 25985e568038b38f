using System.Globalization;
using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Controllers;

/// <summary>
/// A controller's core/v1 event recorder (client-go tools/record): one Event per distinct (object, type, reason, message,
/// source), named <c>&lt;object&gt;.&lt;hex nanoseconds&gt;</c>; a repeat increments <c>count</c> and moves
/// <c>lastTimestamp</c> on the same Event, as the event correlator's aggregation does.
/// </summary>
internal sealed class EventRecorder(ClusterStore store, TimeProvider time, string component)
{
    private readonly Dictionary<string, string> _seen = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>Records an event about <paramref name="involved"/> (any stored object with kind and apiVersion).</summary>
    public void Record(JsonObject involved, string type, string reason, string message)
    {
        ArgumentNullException.ThrowIfNull(involved);
        var ns = involved.Namespace();
        var key = string.Join("\u0000", involved.Str("kind"), ns, involved.Name(), involved.Uid(), type, reason, message);
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (_seen.TryGetValue(key, out var existing) && TryIncrement(ns, existing, now))
            {
                return;
            }

            try
            {
                _seen[key] = Create(involved, ns, type, reason, message, now);
            }
            catch (StoreException)
            {
                // the namespace is gone or terminating: the event is dropped, as the broadcaster drops it
            }
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

    private string Create(JsonObject involved, string ns, string type, string reason, string message, DateTimeOffset now)
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
                    ["source"] = new JsonObject { ["component"] = component },
                    ["firstTimestamp"] = stamp,
                    ["lastTimestamp"] = stamp,
                    ["count"] = 1,
                    ["type"] = type,
                    ["eventTime"] = null,
                    ["reportingComponent"] = component,
                    ["reportingInstance"] = "",
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
