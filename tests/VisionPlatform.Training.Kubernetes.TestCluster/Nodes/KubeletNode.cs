using VisionPlatform.Training.Kubernetes.TestCluster.Controllers;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Nodes;

/// <summary>What the kubelet of one simulated node keeps across the pods it runs: its event recorder and its images.</summary>
internal sealed class KubeletNode
{
    public KubeletNode(ClusterContext context, string nodeName)
    {
        ArgumentNullException.ThrowIfNull(context);
        Events = new KubeletEvents(new EventRecorder(context.Store, context.Time, "kubelet", nodeName));
    }

    /// <summary>The Events this node's kubelet records.</summary>
    public KubeletEvents Events { get; }

    /// <summary>The images this node has pulled.</summary>
    public NodeImages Images { get; } = new();
}
