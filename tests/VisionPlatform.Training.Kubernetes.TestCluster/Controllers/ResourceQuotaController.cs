using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Admission;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Controllers;

/// <summary>
/// The resource quota controller: every ResourceQuota's <c>status.hard</c> mirrors <c>spec.hard</c> and
/// <c>status.used</c> is recomputed from the namespace's objects whenever pods, Jobs or quotas change (so usage is
/// released as soon as a pod finishes or is deleted), as upstream's controller does on its informers' events.
/// </summary>
public sealed class ResourceQuotaController : ReconcilingComponent
{

    /// <summary>Creates the component.</summary>
    public ResourceQuotaController()
        : base("resourcequota-controller")
    {
    }

    /// <inheritdoc />
    protected override IReadOnlyList<ResourceType> WatchedTypes { get; } = [ResourceType.ResourceQuotas, ResourceType.Pods, ResourceType.Jobs, ResourceType.ConfigMaps, ResourceType.Secrets, ResourceType.Services];

    /// <inheritdoc />
    protected override Task<TimeSpan?> ReconcileAsync(CancellationToken cancellationToken)
    {
        var store = Context.Store;
        var now = Context.Time.GetUtcNow();
        foreach (var quota in store.List(ResourceType.ResourceQuotas, null).Items)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var hard = quota.ObjOrNull("spec").ObjOrNull("hard") ?? [];
            var used = QuotaUsage.OfNamespace(store, quota.Namespace(), hard.Select(h => h.Key), now);
            var status = new JsonObject
            {
                ["hard"] = hard.DeepClone(),
                ["used"] = new JsonObject(used.OrderBy(u => u.Key, StringComparer.Ordinal)
                    .Select(u => KeyValuePair.Create(u.Key, (JsonNode?)QuotaUsage.Format(u.Key, u.Value)))),
            };
            if (JsonNode.DeepEquals(status, quota["status"]))
            {
                continue;
            }

            var uid = quota.Uid();
            try
            {
                store.Update(ResourceType.ResourceQuotas, quota.Namespace(), quota.Name(), current =>
                {
                    if (current.Uid() == uid)
                    {
                        current["status"] = status;
                    }

                    return current;
                });
            }
            catch (StoreException ex) when (ex.Code == 404)
            {
                // deleted meanwhile
            }
        }

        // terminating pods stop counting when their grace period ends, without a change to wake the loop
        return Task.FromResult<TimeSpan?>(null);
    }
}
