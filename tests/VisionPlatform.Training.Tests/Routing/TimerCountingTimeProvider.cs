using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;

namespace VisionPlatform.Training.Tests.Routing;

/// <summary>
/// A fake clock that also counts the timers created for each due time. Advancing a fake clock only fires timers that
/// already exist, so a test waits until the code under test has armed its wait before it moves the clock on.
/// </summary>
internal sealed class TimerCountingTimeProvider(DateTimeOffset start) : FakeTimeProvider(start)
{
    private readonly ConcurrentDictionary<TimeSpan, int> _created = new();

    /// <summary>How many timers were created so far with this due time (a <c>Task.Delay</c> on this clock is one).</summary>
    public int TimersCreated(TimeSpan dueTime) => _created.TryGetValue(dueTime, out var count) ? count : 0;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        _created.AddOrUpdate(dueTime, 1, (_, count) => count + 1);
        return timer;
    }
}
