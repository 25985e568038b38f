using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Scheduling;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

/// <summary>
/// Fault injection for workloads: images that cannot be pulled, nodes that come, go or are cordoned, containers killed
/// by the "OOM killer", and pods disrupted (evicted) the way the control plane does it.
/// </summary>
public sealed class WorkloadFaults
{
    private readonly WorkloadState _state;
    private readonly ClusterContext _context;

    private WorkloadFaults(ClusterContext context)
    {
        _context = context;
        _state = WorkloadState.For(context);
    }

    /// <summary>The nodes as they are now.</summary>
    public IReadOnlyList<SimulatedNode> Nodes => _state.Nodes.Nodes;

    /// <summary>The faults of one cluster.</summary>
    public static WorkloadFaults For(ClusterContext context) => new(context);

    /// <summary>Maps an image to a local program at run time.</summary>
    public void MapImage(string image, ImageMapping mapping)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(image);
        ArgumentNullException.ThrowIfNull(mapping);
        _state.Images.Map(image, mapping);
    }

    /// <summary>Pulls of <paramref name="image"/> fail (ErrImagePull, then ImagePullBackOff) until <see cref="MakeImagePullable"/>.</summary>
    public void MakeImageUnpullable(string image)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(image);
        _state.Images.MakeUnpullable(image);
    }

    /// <summary>Undoes <see cref="MakeImageUnpullable"/>; waiting pods start on their next pull attempt.</summary>
    public void MakeImagePullable(string image)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(image);
        _state.Images.MakePullable(image);
    }

    /// <summary>Cordons a node (<c>spec.unschedulable: true</c>): no new pods land on it; running pods stay.</summary>
    public void CordonNode(string nodeName) => SetUnschedulable(nodeName, true);

    /// <summary>Uncordons a node; pending pods are retried.</summary>
    public void UncordonNode(string nodeName) => SetUnschedulable(nodeName, false);

    /// <summary>Sets a node's <c>spec.unschedulable</c>.</summary>
    public void SetUnschedulable(string nodeName, bool unschedulable) =>
        _state.Nodes.Update(nodeName, n => n with { Unschedulable = unschedulable });

    /// <summary>Adds a node (e.g. <see cref="SimulatedNode.Gpu"/>); pending pods are retried.</summary>
    public void AddNode(SimulatedNode node) => _state.Nodes.Add(node);

    /// <summary>
    /// Removes a node. Its running containers are killed and its pods are marked Failed with a DisruptionTarget condition
    /// (reason DeletionByPodGC) and deleted, as the pod garbage collector does for pods of a deleted node.
    /// </summary>
    public bool RemoveNode(string nodeName) => _state.Nodes.Remove(nodeName);

    /// <summary>
    /// Kills a running container as the kernel OOM killer would (SIGKILL to its process group); its status reports
    /// <c>terminated.reason: OOMKilled</c> and exit code 137. Null <paramref name="containerName"/> means the pod's first
    /// running container. Returns false when no such container is running.
    /// </summary>
    public bool OomKill(string @namespace, string podName, string? containerName = null)
    {
        var prefix = WorkloadState.ContainerKey(@namespace, podName, containerName ?? string.Empty);
        var match = _state.Containers.FirstOrDefault(c => containerName is null ? c.Key.StartsWith(prefix, StringComparison.Ordinal) : c.Key == prefix);
        if (match.Value is null)
        {
            return false;
        }

        match.Value.KillAsOutOfMemory();
        return true;
    }

    /// <summary>OOM-kills the next container that starts (optionally only one running <paramref name="image"/>) right after it starts.</summary>
    public void OomKillNextContainer(string? image = null) => _state.ArmOomKillForNextContainer(image);

    /// <summary>
    /// Disrupts a pod as the Eviction API does: adds the condition <c>DisruptionTarget=True</c> (reason
    /// <c>EvictionByEvictionAPI</c>, message "Eviction API: evicting"), then deletes the pod with its grace period.
    /// A Job's podFailurePolicy can match the condition (e.g. Ignore). Returns false when the pod does not exist.
    /// </summary>
    public bool DisruptPod(string @namespace, string podName, string reason = "EvictionByEvictionAPI", string message = "Eviction API: evicting")
    {
        var now = KubeJson.Timestamp(_context.Time.GetUtcNow());
        try
        {
            _context.Store.Update(ResourceType.Pods, @namespace, podName, pod =>
            {
                PodConditions.Set(pod.Obj("status"), "DisruptionTarget", "True", reason, message, now);
                return pod;
            });
            _context.Store.Delete(ResourceType.Pods, @namespace, podName, DeleteOptions.Default);
            return true;
        }
        catch (StoreException ex) when (ex.Code == 404)
        {
            return false;
        }
    }

    /// <summary>The pods currently bound to a node (any namespace).</summary>
    public IReadOnlyList<JsonObject> PodsOnNode(string nodeName) =>
        _context.Store.List(ResourceType.Pods, null, p => p.ObjOrNull("spec").Str("nodeName") == nodeName).Items;
}
