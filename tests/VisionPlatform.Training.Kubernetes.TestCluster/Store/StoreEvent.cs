using System.Text.Json.Nodes;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Store;

/// <summary>What happened to an object, as a watch reports it.</summary>
public enum StoreEventType
{
    /// <summary>The object was created (or is part of the initial state of a watch).</summary>
    Added,

    /// <summary>The object changed.</summary>
    Modified,

    /// <summary>The object was removed from storage; the event carries its last state.</summary>
    Deleted,

    /// <summary>No object changed; the watch has seen every change up to <see cref="StoreEvent.ResourceVersion"/>.</summary>
    Bookmark,
}

/// <summary>One change delivered to a watcher. <see cref="Object"/> is the watcher's own copy.</summary>
/// <param name="Type">What happened.</param>
/// <param name="Object">The object after the change (its last state for <see cref="StoreEventType.Deleted"/>).</param>
/// <param name="ResourceVersion">The store's resourceVersion at this change.</param>
#pragma warning disable CA1720 // "object" is the Kubernetes name for the event payload.
public sealed record StoreEvent(StoreEventType Type, JsonObject Object, long ResourceVersion)
#pragma warning restore CA1720
{
    /// <summary>The object before the change, for <see cref="StoreEventType.Modified"/> events; null otherwise.</summary>
    public JsonObject? PreviousObject { get; init; }

    /// <summary>
    /// When the store applied this change: a <see cref="TimeProvider.GetTimestamp"/> value of the store's clock, taken
    /// under the store lock as the write committed. Compare it with the same clock (for the system clock,
    /// <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>) to measure how long the change took to reach an
    /// observer. 0 for the current objects a watch from scratch starts with (state, not a change) and for bookmarks.
    /// </summary>
    public long CommittedTimestamp { get; init; }

    /// <summary>The wire name of the event type: ADDED, MODIFIED, DELETED or BOOKMARK.</summary>
    public static string WireName(StoreEventType type) => type switch
    {
        StoreEventType.Added => "ADDED",
        StoreEventType.Modified => "MODIFIED",
        StoreEventType.Deleted => "DELETED",
        StoreEventType.Bookmark => "BOOKMARK",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown event type"),
    };
}
