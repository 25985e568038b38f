using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Controllers;

/// <summary>
/// The garbage collector for the owner kinds the cluster serves (Jobs and Services) and their dependents (pods,
/// ConfigMaps and Services a client made a Job the owner of; EndpointSlices owned by their Service; Kueue Workloads owned by
/// their Job):
/// <list type="bullet">
/// <item>a dependent whose owners no longer exist (by uid) is deleted (a pod graceful, its own grace period);</item>
/// <item>an owner being deleted with the <c>foregroundDeletion</c> finalizer gets its dependents deleted, and once no
/// blocking one is left the finalizer is removed, so the owner disappears after its dependents;</item>
/// <item>an owner being deleted with the <c>orphan</c> finalizer gets its ownerReferences removed from its dependents,
/// then the finalizer is removed; the dependents stay.</item>
/// </list>
/// </summary>
public sealed class GarbageCollector : IClusterComponent
{
    private static readonly ResourceType[] OwnerTypes = [ResourceType.Jobs, ResourceType.Services];
    private static readonly ResourceType[] DependentTypes = [ResourceType.Pods, ResourceType.ConfigMaps, ResourceType.Services, ResourceType.EndpointSlices, ResourceType.Workloads];
    private ReconcileLoop? _loop;
    private ClusterStore? _store;

    /// <inheritdoc />
    public Task StartAsync(ClusterContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        _store = context.Store;
        _loop = new ReconcileLoop(
            "garbage-collector", context.Store, [.. OwnerTypes.Union(DependentTypes)], ReconcileAsync,
            context.Options.Workloads.ResyncInterval, context.LoggerFactory.CreateLogger<GarbageCollector>(), context.Options.Workloads.MinReconcileInterval);
        _loop.Start();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_loop is not null)
        {
            await _loop.DisposeAsync().ConfigureAwait(false);
        }
    }

    private Task<TimeSpan?> ReconcileAsync(CancellationToken cancellationToken)
    {
        var store = _store!;
        // Dependents first: a dependent is created after its owner, so every owner of a listed dependent is in the owner
        // list that follows unless it was really deleted. (Owners first let a Job created between the two lists look
        // gone, and its new pod was collected as an orphan: the run failed its first attempt for no reason.)
        var dependents = DependentTypes
            .SelectMany(t => store.List(t, null).Items.Select(o => (Type: t, Object: o)))
            .Where(d => OwnerReferences(d.Object).Any())
            .ToList();
        var owners = OwnerTypes
            .SelectMany(t => store.List(t, null).Items.Select(o => (Type: t, Object: o)))
            .ToDictionary(o => o.Object.Uid(), StringComparer.Ordinal);

        foreach (var (type, dependent) in dependents)
        {
            var refs = OwnerReferences(dependent).ToList();
            if (refs.TrueForAll(r => !owners.ContainsKey(r.Ref.Str("uid") ?? string.Empty) && !OwnerExists(store, dependent, r.Type, r.Ref))
                && !dependent.HasDeletionTimestamp())
            {
                // every owner is gone: the dependent goes too
                TryDelete(type, dependent);
            }
        }

        foreach (var (ownerType, owner) in owners.Values.Where(o => o.Object.HasDeletionTimestamp()))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var mine = dependents.Where(d => OwnerReferences(d.Object).Any(r => r.Ref.Str("uid") == owner.Uid())).ToList();
            if (owner.HasFinalizer(JobLabels.OrphanFinalizer))
            {
                foreach (var (type, dependent) in mine)
                {
                    Orphan(type, dependent, owner.Uid());
                }

                RemoveFinalizer(ownerType, owner, JobLabels.OrphanFinalizer);
            }
            else if (owner.HasFinalizer(JobLabels.ForegroundDeletionFinalizer))
            {
                foreach (var (type, dependent) in mine.Where(d => !d.Object.HasDeletionTimestamp()))
                {
                    TryDelete(type, dependent);
                }

                // only dependents that block owner deletion hold the owner back
                var blocking = mine.Where(d => OwnerReferences(d.Object).Any(r => r.Ref.Str("uid") == owner.Uid() && r.Ref.Bool("blockOwnerDeletion") == true));
                if (!blocking.Any())
                {
                    RemoveFinalizer(ownerType, owner, JobLabels.ForegroundDeletionFinalizer);
                }
            }
        }

        return Task.FromResult<TimeSpan?>(null);
    }

    /// <summary>Upstream's live lookup before deleting a dependent: is the owner (same name and uid) there now?</summary>
    private static bool OwnerExists(ClusterStore store, JsonObject dependent, ResourceType ownerType, JsonObject ownerRef) =>
        ownerRef.Str("name") is { } name
        && store.Get(ownerType, dependent.Namespace(), name) is { } owner
        && owner.Uid() == ownerRef.Str("uid");

    /// <summary>The owner references that point at a kind this collector tracks.</summary>
    private static IEnumerable<(ResourceType Type, JsonObject Ref)> OwnerReferences(JsonObject dependent) =>
        dependent.ObjOrNull("metadata").ArrOrNull("ownerReferences").Objects()
            .Select(r => (Type: Array.Find(OwnerTypes, t => t.Kind == r.Str("kind") && t.ApiVersion == r.Str("apiVersion")), Ref: r))
            .Where(r => r.Type is not null)
            .Select(r => (r.Type!, r.Ref));

    private void TryDelete(ResourceType type, JsonObject dependent)
    {
        try
        {
            _store!.Delete(type, dependent.Namespace(), dependent.Name(), new DeleteOptions { PropagationPolicy = PropagationPolicy.Background, PreconditionUid = dependent.Uid() });
        }
        catch (StoreException ex) when (ex.Code is 404 or 409)
        {
            // gone or replaced meanwhile
        }
    }

    private void Orphan(ResourceType type, JsonObject dependent, string ownerUid)
    {
        var uid = dependent.Uid();
        try
        {
            _store!.Update(type, dependent.Namespace(), dependent.Name(), current =>
            {
                if (current.Uid() != uid || current.ObjOrNull("metadata")?["ownerReferences"] is not JsonArray refs)
                {
                    return current;
                }

                var kept = refs.Objects().Where(r => r.Str("uid") != ownerUid).Select(r => (JsonNode?)r.DeepClone()).ToArray();
                if (kept.Length == 0)
                {
                    current.Metadata().Remove("ownerReferences");
                }
                else
                {
                    current.Metadata()["ownerReferences"] = new JsonArray(kept);
                }

                return current;
            });
        }
        catch (StoreException ex) when (ex.Code == 404)
        {
            // gone already
        }
    }

    private void RemoveFinalizer(ResourceType type, JsonObject owner, string finalizer)
    {
        var uid = owner.Uid();
        try
        {
            _store!.Update(type, owner.Namespace(), owner.Name(), current =>
            {
                if (current.Uid() == uid)
                {
                    current.RemoveFinalizer(finalizer);
                }

                return current;
            });
        }
        catch (StoreException ex) when (ex.Code == 404)
        {
            // gone already
        }
    }
}
