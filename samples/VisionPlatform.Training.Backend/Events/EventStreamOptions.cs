using System.ComponentModel.DataAnnotations;

namespace VisionPlatform.Training.Backend.Events;

/// <summary>Server-sent-events settings (<c>Backend:Events</c>).</summary>
public sealed class EventStreamOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Backend:Events";

    /// <summary>
    /// How long a stream may stay silent before a <c>: heartbeat</c> comment is sent (default 15 s): proxies and load
    /// balancers close idle connections, and a write is how the server notices a client that vanished without closing.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00", ErrorMessage = "Backend:Events:HeartbeatInterval must be between 00:00:00.050 and 00:10:00.")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Events a slow client may fall behind by before the oldest are dropped (a <c>dropped</c> event marks the gap; default 1024).</summary>
    [Range(16, 1_048_576, ErrorMessage = "Backend:Events:BufferCapacity must be between 16 and 1048576.")]
    public int BufferCapacity { get; set; } = TrainingEventSubscription.DefaultBufferCapacity;
}
