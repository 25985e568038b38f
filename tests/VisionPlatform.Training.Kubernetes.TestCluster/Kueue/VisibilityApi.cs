using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using VisionPlatform.Training.Kubernetes.TestCluster.Api;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Kueue;

/// <summary>
/// Kueue's aggregated visibility API (<c>visibility.kueue.x-k8s.io</c>, v1beta1 and v1beta2 with the same shapes): the
/// pending workloads of a ClusterQueue or a LocalQueue in queue order, with their 0-based positions, paged by
/// <c>limit</c> (default 1000) and <c>offset</c>. Requests are authorized like any other: <c>get</c> on
/// <c>clusterqueues/pendingworkloads</c> or <c>localqueues/pendingworkloads</c> in the visibility group.
/// </summary>
internal sealed class VisibilityApi(ClusterContext context)
{
    private const long DefaultLimit = 1000;

    public static readonly IReadOnlyList<string> Versions = ["v1beta1", "v1beta2"];

    public async Task ServeAsync(HttpContext http, ApiRequest request)
    {
        if (request is { Name: { } escaped, Subresource: null } && escaped.IndexOf('/', StringComparison.Ordinal) is var slash and > 0)
        {
            // a client that puts "<name>/pendingworkloads" in the name sends the slash as %2F; Go's server decodes the path
            // before routing, so it reaches the subresource there too
            request = request with { Name = escaped[..slash], Subresource = escaped[(slash + 1)..] };
        }

        var resource = request.Resource;
        if (!Versions.Contains(request.Version) || request.Name is null || request.Subresource != "pendingworkloads"
            || resource is not ("clusterqueues" or "localqueues") || (resource == "localqueues") != (request.Namespace is not null))
        {
            await HttpIO.WritePageNotFoundAsync(http).ConfigureAwait(false);
            return;
        }

        var type = new ResourceType(KueueNames.VisibilityGroup, request.Version, resource, resource == "clusterqueues" ? "ClusterQueue" : "LocalQueue", request.Namespace is not null);
        if (request.Verb != "get")
        {
            throw StoreException.MethodNotSupported(type, request.Verb);
        }

        Authorize(request, type);
        var limit = HttpIO.QueryLong(http, "limit") ?? DefaultLimit;
        var offset = HttpIO.QueryLong(http, "offset") ?? 0;
        if (limit < 0 || offset < 0)
        {
            throw StoreException.BadRequest($"limit and offset must not be negative (limit={limit}, offset={offset})");
        }

        var snapshot = KueueSnapshot.Read(context.Store);
        var items = resource == "clusterqueues"
            ? ForClusterQueue(snapshot, request.Name, type)
            : ForLocalQueue(snapshot, request.Namespace!, request.Name, type);
        await HttpIO.WriteJsonAsync(http, 200, new JsonObject
        {
            ["kind"] = "PendingWorkloadsSummary",
            ["apiVersion"] = $"{KueueNames.VisibilityGroup}/{request.Version}",
            ["metadata"] = new JsonObject(),
            ["items"] = new JsonArray(items.Skip((int)Math.Min(offset, int.MaxValue)).Take((int)Math.Min(limit, int.MaxValue)).Select(i => (JsonNode)i).ToArray()),
        }).ConfigureAwait(false);
    }

    private static List<JsonObject> ForClusterQueue(KueueSnapshot snapshot, string name, ResourceType type)
    {
        if (!snapshot.Pending.TryGetValue(name, out var pending))
        {
            throw StoreException.NotFound(type, name);
        }

        return Items(pending).ToList();
    }

    private static List<JsonObject> ForLocalQueue(KueueSnapshot snapshot, string ns, string name, ResourceType type)
    {
        if (!snapshot.LocalQueues.TryGetValue(ns + "/" + name, out var localQueue))
        {
            throw StoreException.NotFound(type, name);
        }

        var pending = snapshot.Pending.GetValueOrDefault(localQueue.ObjOrNull("spec").Str("clusterQueue") ?? "") ?? [];
        return Items(pending).Where(i => i.ObjOrNull("metadata").Str("namespace") == ns && i.Str("localQueueName") == name).ToList();
    }

    /// <summary>PendingWorkload items in queue order, positions counted in the ClusterQueue and in each LocalQueue.</summary>
    private static IEnumerable<JsonObject> Items(List<WorkloadInfo> pending)
    {
        var inLocalQueue = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < pending.Count; i++)
        {
            var workload = pending[i];
            var localKey = workload.Namespace + "/" + workload.QueueName;
            var localPosition = inLocalQueue.GetValueOrDefault(localKey);
            inLocalQueue[localKey] = localPosition + 1;
            var metadata = new JsonObject
            {
                ["name"] = workload.Name,
                ["namespace"] = workload.Namespace,
                ["creationTimestamp"] = workload.Object.ObjOrNull("metadata").Str("creationTimestamp"),
            };
            if (workload.Object.ObjOrNull("metadata").ArrOrNull("ownerReferences") is { } owners)
            {
                metadata["ownerReferences"] = owners.DeepClone();
            }

            yield return new JsonObject
            {
                ["metadata"] = metadata,
                ["priority"] = workload.Priority,
                ["localQueueName"] = workload.QueueName,
                ["positionInClusterQueue"] = i,
                ["positionInLocalQueue"] = localPosition,
            };
        }
    }

    private void Authorize(ApiRequest request, ResourceType type)
    {
        var policy = context.Options.AccessPolicy;
        if (policy is null || policy.Allows("get", KueueNames.VisibilityGroup, type.Plural, "pendingworkloads", request.Namespace))
        {
            return;
        }

        var scope = request.Namespace is null ? "at the cluster scope" : $"in the namespace \"{request.Namespace}\"";
        throw StoreException.Forbidden(type, request.Name,
            $"User \"{context.Options.UserName}\" cannot get resource \"{type.Plural}/pendingworkloads\" in API group \"{KueueNames.VisibilityGroup}\" {scope}");
    }
}
