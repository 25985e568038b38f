using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using VisionPlatform.Training.Kubernetes.TestCluster.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Scheduling;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

/// <summary>
/// The run-time state one cluster's scheduler, node agent and fault injection share: the node inventory, the image
/// registry, the running containers and armed faults. One instance per <see cref="ClusterContext"/>.
/// </summary>
internal sealed class WorkloadState
{
    private static readonly ConditionalWeakTable<ClusterContext, WorkloadState> States = new();
    private readonly ConcurrentQueue<string?> _oomNext = new();

    private WorkloadState(WorkloadOptions options)
    {
        Options = options;
        Nodes = new NodeInventory(options.Nodes);
        Images = new ImageRegistry(new Dictionary<string, ImageMapping>(options.Images, StringComparer.Ordinal), options.ImageResolver);
    }

    public WorkloadOptions Options { get; }

    public NodeInventory Nodes { get; }

    public ImageRegistry Images { get; }

    /// <summary>Running containers by <c>namespace/pod/container</c>.</summary>
    public ConcurrentDictionary<string, RunningContainer> Containers { get; } = new(StringComparer.Ordinal);

    public static WorkloadState For(ClusterContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return States.GetValue(context, c => new WorkloadState(c.Options.Workloads));
    }

    public static string ContainerKey(string ns, string pod, string container) => $"{ns}/{pod}/{container}";

    /// <summary>Arms an OOM kill for the next container that starts (optionally only one running <paramref name="image"/>).</summary>
    public void ArmOomKillForNextContainer(string? image) => _oomNext.Enqueue(image);

    /// <summary>Whether a container of <paramref name="image"/> that just started must be OOM-killed (consumes the fault).</summary>
    public bool TakeOomKill(string image)
    {
        // one armed fault per call; a fault for another image stays armed
        var count = _oomNext.Count;
        for (var i = 0; i < count; i++)
        {
            if (!_oomNext.TryDequeue(out var wanted))
            {
                return false;
            }

            if (wanted is null || wanted == image)
            {
                return true;
            }

            _oomNext.Enqueue(wanted);
        }

        return false;
    }
}
