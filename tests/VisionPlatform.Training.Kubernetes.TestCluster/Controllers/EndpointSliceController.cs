using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Controllers;

/// <summary>
/// The EndpointSlice controller, small: one IPv4 slice per Service with a selector (named <c>&lt;service&gt;-xxxxx</c>,
/// label <c>kubernetes.io/service-name</c>, managed-by <c>endpointslice-controller.k8s.io</c>, owned by the Service),
/// listing the selected pods with their IP, <c>hostname</c> (pods whose subdomain is the Service), conditions
/// ready/serving/terminating, targetRef and nodeName; ports resolved from the Service's targetPorts. A slice whose
/// Service lost its selector is deleted; the garbage collector removes slices of deleted Services. Upstream splits
/// at 100 endpoints per slice; this one keeps one slice (up to the 1000 the API allows).
/// </summary>
public sealed class EndpointSliceController : ReconcilingComponent
{
    internal const string ServiceNameLabel = "kubernetes.io/service-name";
    internal const string ManagedByLabel = "endpointslice.kubernetes.io/managed-by";
    internal const string ManagedBy = "endpointslice-controller.k8s.io";
    private ClusterStore? _store;

    /// <summary>Creates the component.</summary>
    public EndpointSliceController()
        : base("endpointslice-controller")
    {
    }

    /// <inheritdoc />
    protected override IReadOnlyList<ResourceType> WatchedTypes { get; } = [ResourceType.Services, ResourceType.Pods, ResourceType.EndpointSlices];

    /// <inheritdoc />
    protected override void OnStarting(ClusterContext context)
    {
        _store = context.Store;
    }

    /// <inheritdoc />
    protected override Task<TimeSpan?> ReconcileAsync(CancellationToken cancellationToken)
    {
        var store = _store!;
        var services = store.List(ResourceType.Services, null).Items;
        var pods = store.List(ResourceType.Pods, null).Items;
        var slices = store.List(ResourceType.EndpointSlices, null).Items
            .Where(s => s.Label(ManagedByLabel) == ManagedBy)
            .ToList();
        foreach (var service in services)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var mine = slices.Where(s => s.Namespace() == service.Namespace()
                && s.ObjOrNull("metadata").ArrOrNull("ownerReferences").Objects().Any(r => r.Str("uid") == service.Uid())).ToList();
            if (ServiceEndpoints.Selector(service) is null || service.HasDeletionTimestamp())
            {
                foreach (var slice in mine)
                {
                    TryDelete(slice);
                }

                continue;
            }

            var endpoints = ServiceEndpoints.For(service, pods);
            var desired = Desired(service, endpoints);
            if (mine.Count == 0)
            {
                TryCreate(service, desired);
                continue;
            }

            foreach (var extra in mine.Skip(1))
            {
                TryDelete(extra);
            }

            var current = mine[0];
            if (!JsonNode.DeepEquals(current["endpoints"], desired["endpoints"]) || !JsonNode.DeepEquals(current["ports"], desired["ports"])
                || !JsonNode.DeepEquals(current.ObjOrNull("metadata")?["labels"], desired.ObjOrNull("metadata")?["labels"]))
            {
                TryUpdate(current, desired);
            }
        }

        return Task.FromResult<TimeSpan?>(null);
    }

    private static JsonObject Desired(JsonObject service, IReadOnlyList<ServiceEndpoint> endpoints)
    {
        var labels = service.ObjOrNull("metadata").ObjOrNull("labels")?.DeepClone().AsObject() ?? new JsonObject();
        labels[ServiceNameLabel] = service.Name();
        labels[ManagedByLabel] = ManagedBy;
        if (ServiceEndpoints.IsHeadless(service))
        {
            labels["service.kubernetes.io/headless"] = string.Empty;
        }

        var list = new JsonArray();
        foreach (var endpoint in endpoints.OrderBy(e => e.Pod.Name(), StringComparer.Ordinal))
        {
            var item = new JsonObject
            {
                ["addresses"] = new JsonArray(endpoint.Ip),
                ["conditions"] = new JsonObject
                {
                    ["ready"] = endpoint.Ready,
                    ["serving"] = endpoint.Serving,
                    ["terminating"] = endpoint.Terminating,
                },
            };
            if (endpoint.Hostname is { } hostname)
            {
                item["hostname"] = hostname;
            }

            item["targetRef"] = new JsonObject
            {
                ["kind"] = "Pod",
                ["namespace"] = endpoint.Pod.Namespace(),
                ["name"] = endpoint.Pod.Name(),
                ["uid"] = endpoint.Pod.Uid(),
            };
            if (endpoint.Pod.ObjOrNull("spec").Str("nodeName") is { Length: > 0 } node)
            {
                item["nodeName"] = node;
            }

            list.Add(item);
        }

        var ports = new JsonArray();
        foreach (var port in service.ObjOrNull("spec").ArrOrNull("ports").Objects())
        {
            if (ResolveTargetPort(port, endpoints) is not { } number)
            {
                continue;
            }

            var entry = new JsonObject { ["name"] = port.Str("name") ?? string.Empty, ["port"] = number, ["protocol"] = port.Str("protocol") ?? "TCP" };
            if (port.Str("appProtocol") is { } appProtocol)
            {
                entry["appProtocol"] = appProtocol;
            }

            ports.Add(entry);
        }

        return new JsonObject
        {
            ["apiVersion"] = "discovery.k8s.io/v1",
            ["kind"] = "EndpointSlice",
            ["metadata"] = new JsonObject { ["labels"] = labels },
            ["addressType"] = "IPv4",
            ["endpoints"] = list,
            ["ports"] = ports,
        };
    }

    /// <summary>A numeric targetPort as is; a named one from the first selected pod's container port of that name.</summary>
    private static long? ResolveTargetPort(JsonObject port, IReadOnlyList<ServiceEndpoint> endpoints)
    {
        var target = port["targetPort"] ?? port["port"];
        if (KubeJson.AsLong(target) is { } number)
        {
            return number;
        }

        var name = target is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        return endpoints
            .SelectMany(e => e.Pod.ObjOrNull("spec").ArrOrNull("containers").Objects())
            .SelectMany(c => c.ArrOrNull("ports").Objects())
            .Where(p => p.Str("name") == name)
            .Select(p => p.Long("containerPort"))
            .FirstOrDefault();
    }

    private void TryCreate(JsonObject service, JsonObject desired)
    {
        var meta = desired.Metadata();
        meta["generateName"] = service.Name() + "-";
        meta["namespace"] = service.Namespace();
        meta["ownerReferences"] = new JsonArray(new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Service",
            ["name"] = service.Name(),
            ["uid"] = service.Uid(),
            ["controller"] = true,
            ["blockOwnerDeletion"] = true,
        });
        try
        {
            _store!.Create(ResourceType.EndpointSlices, service.Namespace(), desired);
        }
        catch (StoreException ex) when (ex.Code is 404 or 409)
        {
            // the namespace is going away, or a name clash: the next pass tries again
        }
    }

    private void TryUpdate(JsonObject slice, JsonObject desired)
    {
        var uid = slice.Uid();
        try
        {
            _store!.Update(ResourceType.EndpointSlices, slice.Namespace(), slice.Name(), current =>
            {
                if (current.Uid() == uid)
                {
                    current["endpoints"] = desired["endpoints"]!.DeepClone();
                    current["ports"] = desired["ports"]!.DeepClone();
                    current.Metadata()["labels"] = desired.ObjOrNull("metadata")!["labels"]!.DeepClone();
                }

                return current;
            });
        }
        catch (StoreException ex) when (ex.Code == 404)
        {
            // gone meanwhile
        }
    }

    private void TryDelete(JsonObject slice)
    {
        try
        {
            _store!.Delete(ResourceType.EndpointSlices, slice.Namespace(), slice.Name(), new DeleteOptions { PreconditionUid = slice.Uid() });
        }
        catch (StoreException ex) when (ex.Code is 404 or 409)
        {
            // gone or replaced meanwhile
        }
    }
}
