using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Controllers;

/// <summary>
/// Keeps the events.k8s.io/v1 view of the core/v1 Events: one object per Event, same namespace and name, converted as the
/// apiserver converts between the two versions (<c>involvedObject</c> → <c>regarding</c>, <c>message</c> → <c>note</c>,
/// <c>reportingComponent</c> → <c>reportingController</c>, <c>source</c>/<c>firstTimestamp</c>/<c>lastTimestamp</c>/<c>count</c>
/// → the <c>deprecated*</c> fields). The real apiserver stores one object for both; here the view follows each change
/// of a core Event (its own resourceVersion, a moment later).
/// </summary>
public sealed class EventsMirror : ReconcilingComponent
{

    /// <summary>Creates the component.</summary>
    public EventsMirror()
        : base("events-mirror")
    {
    }

    /// <inheritdoc />
    protected override IReadOnlyList<ResourceType> WatchedTypes { get; } = [ResourceType.Events, ResourceType.EventsV1];

    /// <summary>The events.k8s.io/v1 form of a core/v1 Event.</summary>
    internal static JsonObject ToEventsV1(JsonObject core)
    {
        var meta = new JsonObject { ["name"] = core.Name(), ["namespace"] = core.Namespace() };
        foreach (var field in new[] { "labels", "annotations" })
        {
            if (core.ObjOrNull("metadata")?[field] is JsonObject map)
            {
                meta[field] = map.DeepClone();
            }
        }

        var result = new JsonObject
        {
            ["apiVersion"] = "events.k8s.io/v1",
            ["kind"] = "Event",
            ["metadata"] = meta,
            ["eventTime"] = core["eventTime"]?.DeepClone(),
        };
        foreach (var (from, to) in new[]
        {
            ("series", "series"), ("reportingComponent", "reportingController"), ("reportingInstance", "reportingInstance"),
            ("action", "action"), ("reason", "reason"), ("involvedObject", "regarding"), ("related", "related"), ("message", "note"),
            ("type", "type"), ("source", "deprecatedSource"), ("firstTimestamp", "deprecatedFirstTimestamp"),
            ("lastTimestamp", "deprecatedLastTimestamp"), ("count", "deprecatedCount"),
        })
        {
            if (core[from] is { } value)
            {
                result[to] = value.DeepClone();
            }
        }

        return result;
    }

    /// <inheritdoc />
    protected override Task<TimeSpan?> ReconcileAsync(CancellationToken cancellationToken)
    {
        var store = Context.Store;
        var core = store.List(ResourceType.Events, null).Items.ToDictionary(e => (e.Namespace(), e.Name()));
        var view = store.List(ResourceType.EventsV1, null).Items.ToDictionary(e => (e.Namespace(), e.Name()));
        foreach (var ((ns, name), e) in core)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var desired = ToEventsV1(e);
            try
            {
                if (!view.TryGetValue((ns, name), out var existing))
                {
                    store.Create(ResourceType.EventsV1, ns, desired);
                }
                else if (!SameContent(desired, existing))
                {
                    store.Update(ResourceType.EventsV1, ns, name, current =>
                    {
                        var updated = desired.DeepClone().AsObject();
                        updated["metadata"] = current["metadata"]!.DeepClone();
                        return updated;
                    });
                }
            }
            catch (StoreException)
            {
                // the namespace is terminating or the view changed meanwhile: the next pass sees the new state
            }
        }

        foreach (var (ns, name) in view.Keys.Where(k => !core.ContainsKey(k)))
        {
            try
            {
                store.Delete(ResourceType.EventsV1, ns, name, DeleteOptions.Default);
            }
            catch (StoreException ex) when (ex.Code == 404)
            {
                // gone already
            }
        }

        return Task.FromResult<TimeSpan?>(null);
    }

    private static bool SameContent(JsonObject desired, JsonObject existing)
    {
        var a = desired.DeepClone().AsObject();
        var b = existing.DeepClone().AsObject();
        a.Remove("metadata");
        b.Remove("metadata");
        return JsonNode.DeepEquals(a, b);
    }
}
