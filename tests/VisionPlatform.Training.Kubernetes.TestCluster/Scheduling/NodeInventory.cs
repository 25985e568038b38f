namespace VisionPlatform.Training.Kubernetes.TestCluster.Scheduling;

/// <summary>
/// The cluster's nodes. Thread-safe; every change raises <see cref="Changed"/> so the scheduler re-tries pending pods
/// and the node agent notices new or removed nodes.
/// </summary>
public sealed class NodeInventory
{
    private readonly Lock _gate = new();
    private readonly List<SimulatedNode> _nodes = [];
    private int _nextIp = 10;

    /// <summary>Creates the inventory with <paramref name="nodes"/>.</summary>
    public NodeInventory(IEnumerable<SimulatedNode> nodes)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        foreach (var node in nodes)
        {
            Add(node);
        }
    }

    /// <summary>Raised after any node is added, removed or changed.</summary>
    public event Action? Changed;

    /// <summary>A snapshot of the nodes.</summary>
    public IReadOnlyList<SimulatedNode> Nodes
    {
        get
        {
            lock (_gate)
            {
                return [.. _nodes];
            }
        }
    }

    /// <summary>The node with this name, or null.</summary>
    public SimulatedNode? Find(string name)
    {
        lock (_gate)
        {
            return _nodes.Find(n => n.Name == name);
        }
    }

    /// <summary>Adds a node; its name must be new.</summary>
    public void Add(SimulatedNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        lock (_gate)
        {
            if (_nodes.Exists(n => n.Name == node.Name))
            {
                throw new ArgumentException($"A node named '{node.Name}' already exists.", nameof(node));
            }

            _nodes.Add(node.InternalIp == "10.0.0.10" ? node with { InternalIp = $"10.0.0.{_nextIp++}" } : node);
        }

        Changed?.Invoke();
    }

    /// <summary>Removes a node; returns false when it did not exist.</summary>
    public bool Remove(string name)
    {
        bool removed;
        lock (_gate)
        {
            removed = _nodes.RemoveAll(n => n.Name == name) > 0;
        }

        if (removed)
        {
            Changed?.Invoke();
        }

        return removed;
    }

    /// <summary>Replaces a node with <paramref name="change"/> applied to it.</summary>
    public void Update(string name, Func<SimulatedNode, SimulatedNode> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        lock (_gate)
        {
            var index = _nodes.FindIndex(n => n.Name == name);
            if (index < 0)
            {
                throw new ArgumentException($"There is no node named '{name}'.", nameof(name));
            }

            _nodes[index] = change(_nodes[index]);
        }

        Changed?.Invoke();
    }
}
