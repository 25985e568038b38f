namespace VisionPlatform.Training.Kubernetes.TestCluster.Scheduling;

/// <summary>A node taint (<c>key=value:effect</c>).</summary>
/// <param name="Key">The taint key, e.g. <c>nvidia.com/gpu</c>.</param>
/// <param name="Value">The taint value (may be empty).</param>
/// <param name="Effect"><c>NoSchedule</c>, <c>PreferNoSchedule</c> or <c>NoExecute</c>.</param>
public sealed record NodeTaint(string Key, string Value, string Effect);

/// <summary>
/// A simulated node: what it can allocate, its labels and taints, and whether it is cordoned. Nodes are immutable;
/// the inventory swaps whole nodes so the scheduler always sees a consistent view.
/// </summary>
public sealed record SimulatedNode
{
    /// <summary>Creates a node.</summary>
    public SimulatedNode(string name, string cpu = "8", string memory = "32Gi", int gpus = 0)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
        Allocatable = new Dictionary<string, string>(StringComparer.Ordinal) { ["cpu"] = cpu, ["memory"] = memory, ["pods"] = "110" };
        if (gpus > 0)
        {
            Allocatable["nvidia.com/gpu"] = gpus.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    /// <summary>The node name (also its hostname).</summary>
    public string Name { get; init; }

    /// <summary>Allocatable resources as Kubernetes quantities (cpu, memory, pods, nvidia.com/gpu, ...).</summary>
    public Dictionary<string, string> Allocatable { get; init; }

    /// <summary>Node labels (<c>kubernetes.io/hostname</c> is always added).</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Node taints.</summary>
    public IReadOnlyList<NodeTaint> Taints { get; init; } = [];

    /// <summary><c>spec.unschedulable</c> (cordoned).</summary>
    public bool Unschedulable { get; init; }

    /// <summary>The node's IP (hostIP of its pods).</summary>
    public string InternalIp { get; init; } = "10.0.0.10";

    /// <summary>The default node: <c>node-1</c> with 8 cpu and 32Gi of memory, no GPUs.</summary>
    public static SimulatedNode Default() => new("node-1");

    /// <summary>A GPU node labelled <c>accelerator: nvidia-gpu</c> and tainted <c>nvidia.com/gpu:NoSchedule</c>.</summary>
    public static SimulatedNode Gpu(string name, int gpus = 1, string cpu = "16", string memory = "64Gi") => new(name, cpu, memory, gpus)
    {
        Labels = new Dictionary<string, string>(StringComparer.Ordinal) { ["accelerator"] = "nvidia-gpu" },
        Taints = [new NodeTaint("nvidia.com/gpu", string.Empty, "NoSchedule")],
    };

    /// <summary>Labels including the well-known <c>kubernetes.io/hostname</c>.</summary>
    public IReadOnlyDictionary<string, string> EffectiveLabels()
    {
        var labels = new Dictionary<string, string>(Labels, StringComparer.Ordinal)
        {
            ["kubernetes.io/hostname"] = Name,
            ["kubernetes.io/os"] = "linux",
        };
        return labels;
    }
}
