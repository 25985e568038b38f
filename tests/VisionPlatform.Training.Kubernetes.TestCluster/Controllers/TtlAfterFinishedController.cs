using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Controllers;

/// <summary>
/// The ttl-after-finished controller: a Job with <c>ttlSecondsAfterFinished</c> is deleted that long after the
/// <c>lastTransitionTime</c> of its Complete or Failed condition, with propagationPolicy Foreground and a UID
/// precondition, as upstream does (the pods go first, then the Job).
/// </summary>
public sealed class TtlAfterFinishedController : ReconcilingComponent
{

    /// <summary>Creates the component.</summary>
    public TtlAfterFinishedController()
        : base("ttl-after-finished")
    {
    }

    /// <inheritdoc />
    protected override IReadOnlyList<ResourceType> WatchedTypes { get; } = [ResourceType.Jobs];

    /// <inheritdoc />
    protected override Task<TimeSpan?> ReconcileAsync(CancellationToken cancellationToken)
    {
        var store = Context.Store;
        var now = Context.Time.GetUtcNow();
        TimeSpan? next = null;
        foreach (var job in store.List(ResourceType.Jobs, null).Items)
        {
            if (job.HasDeletionTimestamp() || job.ObjOrNull("spec").Long("ttlSecondsAfterFinished") is not { } ttl)
            {
                continue;
            }

            var finished = job.Condition("Complete") is { } c && c.Str("status") == "True" ? c
                : job.Condition("Failed") is { } f && f.Str("status") == "True" ? f : null;
            if (finished is null || KubeJson.ParseTime(finished["lastTransitionTime"]) is not { } finishedAt)
            {
                continue;
            }

            var remaining = finishedAt + TimeSpan.FromSeconds(ttl) - now;
            if (remaining > TimeSpan.Zero)
            {
                next = next is { } n && n < remaining ? n : remaining;
                continue;
            }

            try
            {
                store.Delete(ResourceType.Jobs, job.Namespace(), job.Name(), new DeleteOptions { PropagationPolicy = PropagationPolicy.Foreground, PreconditionUid = job.Uid() });
            }
            catch (StoreException ex) when (ex.Code is 404 or 409)
            {
                // deleted or replaced meanwhile
            }
        }

        return Task.FromResult(next);
    }
}
