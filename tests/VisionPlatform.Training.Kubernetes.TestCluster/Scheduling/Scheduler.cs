using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using VisionPlatform.Training.Kubernetes.TestCluster.Controllers;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Scheduling;

/// <summary>
/// The scheduler: binds each pending pod (no <c>spec.nodeName</c>, <c>schedulerName</c> default-scheduler) to a node it
/// fits on and sets PodScheduled=True, or leaves it Pending with PodScheduled=False, reason Unschedulable and the
/// kube-scheduler message. Pending pods are retried whenever pods or nodes change (capacity freed, node added or
/// uncordoned). A binding is announced as kube-scheduler does: a Normal <c>Scheduled</c> Event on the pod, from
/// <c>default-scheduler</c>, "Successfully assigned &lt;ns&gt;/&lt;pod&gt; to &lt;node&gt;".
/// </summary>
public sealed class Scheduler : IClusterComponent
{
    private ReconcileLoop? _loop;
    private ClusterContext? _context;
    private WorkloadState? _state;
    private EventRecorder? _events;

    /// <inheritdoc />
    public Task StartAsync(ClusterContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        _context = context;
        _state = WorkloadState.For(context);
        _events = new EventRecorder(context.Store, context.Time, "default-scheduler");
        _loop = new ReconcileLoop(
            "scheduler", context.Store, [ResourceType.Pods], ReconcileAsync,
            context.Options.Workloads.ResyncInterval, context.LoggerFactory.CreateLogger<Scheduler>(), context.Options.Workloads.MinReconcileInterval);
        _state.Nodes.Changed += _loop.Kick;
        _loop.Start();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_loop is not null)
        {
            _state!.Nodes.Changed -= _loop.Kick;
            await _loop.DisposeAsync().ConfigureAwait(false);
        }
    }

    private Task<TimeSpan?> ReconcileAsync(CancellationToken cancellationToken)
    {
        var store = _context!.Store;
        var pods = store.List(ResourceType.Pods, null).Items.ToList();
        var nodes = _state!.Nodes.Nodes;
        var bound = pods.Where(p => !string.IsNullOrEmpty(p.ObjOrNull("spec").Str("nodeName"))).ToList();
        var pending = pods
            .Where(p => string.IsNullOrEmpty(p.ObjOrNull("spec").Str("nodeName")) && !p.HasDeletionTimestamp() && !p.IsTerminal()
                && (p.ObjOrNull("spec").Str("schedulerName") ?? "default-scheduler") == "default-scheduler")
            .OrderBy(p => p.ObjOrNull("metadata").Str("creationTimestamp"), StringComparer.Ordinal)
            .ToList();

        foreach (var pod in pending)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var result = PodFit.Schedule(pod, nodes, bound);
            try
            {
                if (result.NodeName is { } nodeName)
                {
                    var updated = Bind(pod, nodeName);
                    if (updated is not null)
                    {
                        bound.Add(updated);
                    }
                }
                else
                {
                    MarkUnschedulable(pod, result.Message!);
                }
            }
            catch (StoreException ex) when (ex.Code is 404 or 409)
            {
                // the pod went away or changed; the next pass sees it
            }
        }

        return Task.FromResult<TimeSpan?>(null);
    }

    private JsonObject? Bind(JsonObject pod, string nodeName)
    {
        var uid = pod.Uid();
        var now = KubeJson.Timestamp(_context!.Time.GetUtcNow());
        var bound = false;
        var updated = _context.Store.Update(ResourceType.Pods, pod.Namespace(), pod.Name(), current =>
        {
            if (current.Uid() != uid || !string.IsNullOrEmpty(current.ObjOrNull("spec").Str("nodeName")) || current.HasDeletionTimestamp())
            {
                return current;
            }

            current.Obj("spec")["nodeName"] = nodeName;
            var status = current.Obj("status");
            status["phase"] ??= "Pending";
            PodConditions.Set(status, "PodScheduled", "True", null, null, now);
            bound = true;
            return current;
        });
        if (!bound)
        {
            return null;
        }

        _events!.Record(updated, "Normal", "Scheduled", $"Successfully assigned {updated.Namespace()}/{updated.Name()} to {nodeName}");
        return updated;
    }

    private void MarkUnschedulable(JsonObject pod, string message)
    {
        var uid = pod.Uid();
        var now = KubeJson.Timestamp(_context!.Time.GetUtcNow());
        _context.Store.Update(ResourceType.Pods, pod.Namespace(), pod.Name(), current =>
        {
            if (current.Uid() != uid || !string.IsNullOrEmpty(current.ObjOrNull("spec").Str("nodeName")))
            {
                return current;
            }

            var status = current.Obj("status");
            status["phase"] ??= "Pending";
            PodConditions.Set(status, "PodScheduled", "False", "Unschedulable", message, now);
            return current;
        });
    }
}
