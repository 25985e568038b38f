namespace VisionPlatform.Training.Kubernetes.TestCluster.Nodes;

/// <summary>
/// The images one node has "pulled", so <c>imagePullPolicy: IfNotPresent</c> pulls an image once per node and then
/// finds it present, as a kubelet does. Bounded: beyond <see cref="Capacity"/> images the oldest is forgotten (and
/// pulled again when next used), as the kubelet's image garbage collection removes images.
/// </summary>
internal sealed class NodeImages
{
    /// <summary>How many images a node keeps.</summary>
    public const int Capacity = 1024;

    private readonly HashSet<string> _images = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();
    private readonly Lock _gate = new();

    /// <summary>Whether the node has pulled <paramref name="image"/>.</summary>
    public bool Contains(string image)
    {
        lock (_gate)
        {
            return _images.Contains(image);
        }
    }

    /// <summary>Remembers a pulled image.</summary>
    public void Add(string image)
    {
        lock (_gate)
        {
            if (!_images.Add(image))
            {
                return;
            }

            _order.Enqueue(image);
            while (_order.Count > Capacity)
            {
                _images.Remove(_order.Dequeue());
            }
        }
    }
}
