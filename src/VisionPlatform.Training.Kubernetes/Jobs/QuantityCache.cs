using System.Collections.Concurrent;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Valid quantities already parsed by one builder (options' defaults, jobs' requests and limits), so a start does not
/// parse the same text twice. <see cref="k8s.Models.ResourceQuantity"/> is immutable, so Jobs may share instances.
/// Bounded: once full, further texts are parsed every time.
/// </summary>
internal sealed class QuantityCache
{
    private const int Capacity = 512;
    private readonly ConcurrentDictionary<string, k8s.Models.ResourceQuantity> _quantities = new(StringComparer.Ordinal);

    public k8s.Models.ResourceQuantity? TryGet(string text) => _quantities.TryGetValue(text, out var quantity) ? quantity : null;

    public void Add(string text, k8s.Models.ResourceQuantity quantity)
    {
        if (_quantities.Count < Capacity)
        {
            _quantities.TryAdd(text, quantity);
        }
    }
}
