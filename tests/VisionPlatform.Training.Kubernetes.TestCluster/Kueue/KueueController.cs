using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using VisionPlatform.Training.Kubernetes.TestCluster.Controllers;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Kueue;

/// <summary>
/// The Kueue simulation's controller manager: on any change to Jobs, Workloads, queues, flavors, priority classes or
/// namespaces it runs one pass of Kueue's job reconciler (create Workloads, mark them Finished), scheduler (admit,
/// preempt, or say why a workload waits), job reconciler again (start admitted Jobs, stop the others) and queue status.
/// Each step reads the store afresh, so a pass sees its own writes; everything is deterministic and level-triggered.
/// </summary>
public sealed class KueueController : IClusterComponent
{
    private ReconcileLoop? _loop;
    private ClusterStore? _store;
    private JobIntegration? _jobs;
    private AdmissionScheduler? _scheduler;
    private QueueStatusWriter? _queues;

    /// <inheritdoc />
    public Task StartAsync(ClusterContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        _store = context.Store;
        var events = new EventRecorder(context.Store, context.Time, KueueNames.EventComponent);
        _jobs = new JobIntegration(context.Store, events, context.Time);
        _scheduler = new AdmissionScheduler(context.Store, events, context.Time);
        _queues = new QueueStatusWriter(context.Store, context.Time);
        _loop = new ReconcileLoop(
            "kueue-controller", context.Store,
            [ResourceType.Jobs, ResourceType.Workloads, ResourceType.ClusterQueues, ResourceType.LocalQueues, ResourceType.ResourceFlavors,
                ResourceType.WorkloadPriorityClasses, ResourceType.Namespaces],
            ReconcileAsync, context.Options.Workloads.ResyncInterval, context.LoggerFactory.CreateLogger<KueueController>(),
            context.Options.Workloads.MinReconcileInterval);
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
        _jobs!.SyncWorkloads(QueuedJobs(store), KueueSnapshot.Read(store));
        cancellationToken.ThrowIfCancellationRequested();
        _scheduler!.Schedule(KueueSnapshot.Read(store));
        cancellationToken.ThrowIfCancellationRequested();
        _jobs.StartAndStop(QueuedJobs(store), KueueSnapshot.Read(store));
        _queues!.Write(KueueSnapshot.Read(store));
        return Task.FromResult<TimeSpan?>(null);
    }

    /// <summary>The Jobs Kueue manages: the ones with a queue name.</summary>
    private static IReadOnlyList<JsonObject> QueuedJobs(ClusterStore store) =>
        store.List(ResourceType.Jobs, null, j => !string.IsNullOrEmpty(j.Label(KueueNames.QueueLabel))).Items;
}
