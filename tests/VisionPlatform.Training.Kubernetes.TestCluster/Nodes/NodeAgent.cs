using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using VisionPlatform.Training.Kubernetes.TestCluster.Controllers;
using VisionPlatform.Training.Kubernetes.TestCluster.Scheduling;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Nodes;

/// <summary>
/// The kubelets of all simulated nodes: runs every pod bound to a node as local processes (one <see cref="PodWorker"/>
/// per pod), passes deletions on to the workers, finalises graceful deletions of pods that have nothing running, and
/// plays the pod garbage collector for pods whose node was removed. Each node's kubelet records its Events
/// (<see cref="KubeletEvents"/>). Disposing kills every process it started.
/// </summary>
public sealed class NodeAgent : IClusterComponent
{
    private readonly Dictionary<string, PodWorker> _workers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _done = new(StringComparer.Ordinal);
    private readonly Dictionary<string, KubeletNode> _kubelets = new(StringComparer.Ordinal);
    private ReconcileLoop? _loop;
    private ClusterContext? _context;
    private WorkloadState? _state;
    private readonly int _podIpBlock = Random.Shared.Next(16, 255);
    private int _nextPodIp;
    private volatile IReadOnlyList<DnsRecord> _dnsRecords = [];

    /// <inheritdoc />
    public Task StartAsync(ClusterContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        _context = context;
        _state = WorkloadState.For(context);
        _loop = new ReconcileLoop(
            "node-agent", context.Store, [ResourceType.Pods, ResourceType.Nodes, ResourceType.Services], ReconcileAsync,
            context.Options.Workloads.ResyncInterval, context.LoggerFactory.CreateLogger<NodeAgent>(), context.Options.Workloads.MinReconcileInterval);
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

        List<PodWorker> workers;
        lock (_workers)
        {
            workers = [.. _workers.Values];
            _workers.Clear();
        }

        await Task.WhenAll(workers.Select(w => w.DisposeAsync().AsTask())).ConfigureAwait(false);
    }

    private async Task<TimeSpan?> ReconcileAsync(CancellationToken cancellationToken)
    {
        var store = _context!.Store;
        NodeObjects.Publish(store, _state!.Nodes.Nodes, _context.Time.GetUtcNow());
        var pods = store.List(ResourceType.Pods, null).Items;
        _dnsRecords = ClusterDns.Records(store.List(ResourceType.Services, null).Items, pods);
        var byUid = pods.ToDictionary(p => p.Uid(), StringComparer.Ordinal);
        var nodes = _state!.Nodes.Nodes.ToDictionary(n => n.Name, StringComparer.Ordinal);

        // a removed node's kubelet goes with it (a node added again under the name starts with no images)
        foreach (var gone in _kubelets.Keys.Where(n => !nodes.ContainsKey(n)).ToList())
        {
            _kubelets.Remove(gone);
        }

        // workers whose pod vanished or whose node went away stop at once
        List<PodWorker> finished = [];
        lock (_workers)
        {
            foreach (var (uid, worker) in _workers.ToList())
            {
                if (!byUid.ContainsKey(uid) || !nodes.ContainsKey(worker.NodeName))
                {
                    worker.Abandon();
                }

                if (worker.Finished)
                {
                    _workers.Remove(uid);
                    _done.Add(uid);
                    finished.Add(worker);
                }
            }
        }

        foreach (var worker in finished)
        {
            await worker.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var pod in pods)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var nodeName = pod.ObjOrNull("spec").Str("nodeName");
            if (string.IsNullOrEmpty(nodeName))
            {
                if (pod.HasDeletionTimestamp() && !pod.IsTerminal())
                {
                    FailUnscheduledTerminating(pod);
                }

                continue;
            }

            if (!nodes.TryGetValue(nodeName, out var node))
            {
                CollectPodOfMissingNode(pod);
                continue;
            }

            var uid = pod.Uid();
            PodWorker? worker;
            lock (_workers)
            {
                _workers.TryGetValue(uid, out worker);
            }

            if (worker is not null)
            {
                if (pod.HasDeletionTimestamp())
                {
                    worker.RequestDeletion(pod);
                }

                continue;
            }

            if (pod.HasDeletionTimestamp())
            {
                // nothing runs for it (never started, or already finished): the kubelet confirms the deletion
                Finalize(pod);
                continue;
            }

            if (pod.IsTerminal() || _done.Contains(uid))
            {
                continue;
            }

            if (!_kubelets.TryGetValue(nodeName, out var kubelet))
            {
                kubelet = new KubeletNode(_context, nodeName);
                _kubelets[nodeName] = kubelet;
            }

            worker = new PodWorker(_context, _state, kubelet, pod, node, PodWorker.PodIpFor(_podIpBlock, Interlocked.Increment(ref _nextPodIp)), () => _dnsRecords);
            lock (_workers)
            {
                _workers[uid] = worker;
            }

            worker.Start();
        }

        // finished workers are reaped on the next pass
        List<PodWorker> running;
        lock (_workers)
        {
            running = [.. _workers.Values];
        }

        // the cluster DNS part of every sandboxed pod's hosts file follows the records
        var records = _dnsRecords;
        foreach (var w in running)
        {
            w.RefreshHosts(records);
        }

        lock (_workers)
        {
            return _workers.Values.Any(w => w.Finished) ? TimeSpan.FromMilliseconds(50) : null;
        }
    }

    private void Finalize(JsonObject pod)
    {
        try
        {
            var uid = pod.Uid();
            if (_context!.Store.Get(ResourceType.Pods, pod.Namespace(), pod.Name()) is { } current && current.Uid() == uid
                && current.ObjOrNull("metadata").Long("deletionGracePeriodSeconds") is > 0)
            {
                _context.Store.FinalizeDelete(ResourceType.Pods, pod.Namespace(), pod.Name());
            }
        }
        catch (StoreException ex) when (ex.Code == 404)
        {
            // already removed
        }
    }

    /// <summary>
    /// The pod garbage collector's gcUnscheduledTerminating: a pod deleted before it was scheduled (kept by a finalizer)
    /// is marked Failed, so its owner can count it and release it.
    /// </summary>
    private void FailUnscheduledTerminating(JsonObject pod)
    {
        var uid = pod.Uid();
        try
        {
            _context!.Store.Update(ResourceType.Pods, pod.Namespace(), pod.Name(), current =>
            {
                if (current.Uid() == uid && string.IsNullOrEmpty(current.ObjOrNull("spec").Str("nodeName")))
                {
                    current.Obj("status")["phase"] = "Failed";
                }

                return current;
            });
        }
        catch (StoreException ex) when (ex.Code == 404)
        {
            // already removed
        }
    }

    /// <summary>
    /// The pod garbage collector: a pod bound to a node that no longer exists is marked Failed with a
    /// DisruptionTarget condition (reason DeletionByPodGC) and deleted at once.
    /// </summary>
    private void CollectPodOfMissingNode(JsonObject pod)
    {
        var uid = pod.Uid();
        var now = KubeJson.Timestamp(_context!.Time.GetUtcNow());
        try
        {
            if (!pod.IsTerminal())
            {
                _context.Store.Update(ResourceType.Pods, pod.Namespace(), pod.Name(), current =>
                {
                    if (current.Uid() != uid)
                    {
                        return current;
                    }

                    var status = current.Obj("status");
                    PodConditions.Set(status, "DisruptionTarget", "True", "DeletionByPodGC", "PodGC: node no longer exists", now);
                    status["phase"] = "Failed";
                    return current;
                });
            }

            _context.Store.Delete(ResourceType.Pods, pod.Namespace(), pod.Name(), new DeleteOptions { GracePeriodSeconds = 0, PreconditionUid = uid });
        }
        catch (StoreException ex) when (ex.Code is 404 or 409)
        {
            // gone or replaced
        }
    }
}
