using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Controllers;

/// <summary>
/// The garbage collector for Jobs and their dependents (pods, and ConfigMaps a client made a Job the owner of):
/// <list type="bullet">
/// <item>a pod or ConfigMap whose owner Job no longer exists (by uid) is deleted (a pod graceful, its own grace period);</item>
/// <item>a Job being deleted with the <c>foregroundDeletion</c> finalizer gets its pods deleted, and once none is left the
/// finalizer is removed, so the Job disappears after its pods;</item>
/// <item>a Job being deleted with the <c>orphan</c> finalizer gets its ownerReferences removed from its pods, then the
/// finalizer is removed; the pods keep running.</item>
/// </list>
/// </summary>
public sealed class GarbageCollector : IClusterComponent
{
    private ReconcileLoop? _loop;
    private ClusterStore? _store;

    /// <inheritdoc />
    public Task StartAsync(ClusterContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        _store = context.Store;
        _loop = new ReconcileLoop(
            "garbage-collector", context.Store, [ResourceType.Jobs, ResourceType.Pods, ResourceType.ConfigMaps], ReconcileAsync,
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
        // Pods first: a pod is created after its Job, so every owner of a listed pod is in the Job list that follows
        // unless it was really deleted. (Jobs first let a Job created between the two lists look gone, and its new pod
        // was collected as an orphan: the run failed its first attempt for no reason.)
        var pods = store.List(ResourceType.Pods, null).Items.Select(p => (Type: ResourceType.Pods, Object: p))
            .Concat(store.List(ResourceType.ConfigMaps, null).Items.Select(c => (Type: ResourceType.ConfigMaps, Object: c)))
            .Where(d => JobOwnerReferences(d.Object).Any())
            .ToList();
        var jobs = store.List(ResourceType.Jobs, null).Items.ToDictionary(j => j.Uid(), StringComparer.Ordinal);

        foreach (var (type, pod) in pods)
        {
            var jobRefs = JobOwnerReferences(pod).ToList();
            if (jobRefs.Count > 0 && jobRefs.TrueForAll(r => !jobs.ContainsKey(r.Str("uid") ?? string.Empty) && !OwnerExists(store, pod, r)) && !pod.HasDeletionTimestamp())
            {
                // every owner is gone: the dependent goes too
                TryDelete(type, pod);
            }
        }

        foreach (var job in jobs.Values.Where(j => j.HasDeletionTimestamp()))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var dependents = pods.Where(p => JobOwnerReferences(p.Object).Any(r => r.Str("uid") == job.Uid())).ToList();
            if (job.HasFinalizer(JobLabels.OrphanFinalizer))
            {
                foreach (var (type, pod) in dependents)
                {
                    Orphan(type, pod, job.Uid());
                }

                RemoveFinalizer(job, JobLabels.OrphanFinalizer);
            }
            else if (job.HasFinalizer(JobLabels.ForegroundDeletionFinalizer))
            {
                foreach (var (type, pod) in dependents.Where(p => !p.Object.HasDeletionTimestamp()))
                {
                    TryDelete(type, pod);
                }

                // only dependents that block owner deletion hold the owner back
                var blocking = dependents.Where(p => JobOwnerReferences(p.Object).Any(r => r.Str("uid") == job.Uid() && r.Bool("blockOwnerDeletion") == true));
                if (!blocking.Any())
                {
                    RemoveFinalizer(job, JobLabels.ForegroundDeletionFinalizer);
                }
            }
        }

        return Task.FromResult<TimeSpan?>(null);
    }

    /// <summary>Upstream's live lookup before deleting a dependent: is the owner (same name and uid) there now?</summary>
    private static bool OwnerExists(ClusterStore store, JsonObject pod, JsonObject ownerRef) =>
        ownerRef.Str("name") is { } name
        && store.Get(ResourceType.Jobs, pod.Namespace(), name) is { } owner
        && owner.Uid() == ownerRef.Str("uid");

    private static IEnumerable<JsonObject> JobOwnerReferences(JsonObject pod) =>
        pod.ObjOrNull("metadata").ArrOrNull("ownerReferences").Objects().Where(r => r.Str("kind") == "Job" && r.Str("apiVersion") == "batch/v1");

    private void TryDelete(ResourceType type, JsonObject pod)
    {
        try
        {
            _store!.Delete(type, pod.Namespace(), pod.Name(), new DeleteOptions { PropagationPolicy = PropagationPolicy.Background, PreconditionUid = pod.Uid() });
        }
        catch (StoreException ex) when (ex.Code is 404 or 409)
        {
            // gone or replaced meanwhile
        }
    }

    private void Orphan(ResourceType type, JsonObject pod, string ownerUid)
    {
        var uid = pod.Uid();
        try
        {
            _store!.Update(type, pod.Namespace(), pod.Name(), current =>
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

    private void RemoveFinalizer(JsonObject job, string finalizer)
    {
        var uid = job.Uid();
        try
        {
            _store!.Update(ResourceType.Jobs, job.Namespace(), job.Name(), current =>
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
