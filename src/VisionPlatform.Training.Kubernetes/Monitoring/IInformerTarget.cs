using k8s;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>Receives what a <see cref="ResourceInformer{T}"/> observes.</summary>
internal interface IInformerTarget<in T>
{
    /// <summary>A complete list: the objects that exist now (anything else known has been deleted), as of <paramref name="resourceVersion"/>.</summary>
    void Replace(IReadOnlyList<T> items, string? resourceVersion);

    /// <summary>One watch event (ADDED, MODIFIED or DELETED).</summary>
    void Apply(WatchEventType type, T item);

    /// <summary>A bookmark moved the stream on to <paramref name="resourceVersion"/> without a change.</summary>
    void Advanced(string resourceVersion);

    /// <summary>The informer became synced (after a list) or unsynced (waiting for a re-list).</summary>
    void SyncChanged();
}
