namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// What a log read hands out as lines arrive: every line at once (timestamps dropped unless asked for), or, with
/// <see cref="TrainingLogOptions.TailLines"/>, only the last lines, held in a queue no longer than the tail and given out
/// at the end. Shared by the live reader (pods) and the archived one (chunks), so both apply a tail alike.
/// </summary>
internal sealed class LogLineWindow(TrainingLogOptions options)
{
    private readonly Queue<TrainingLogLine>? _tail = options.TailLines is { } n ? new Queue<TrainingLogLine>(Math.Min(n, 1024)) : null;

    /// <summary>Takes one line; returns it when it is to be handed out now, or <see langword="null"/> when the tail holds it.</summary>
    public TrainingLogLine? Offer(TrainingLogLine line)
    {
        var kept = options.Timestamps ? line : line with { Timestamp = null };
        if (_tail is null)
        {
            return kept;
        }

        if (_tail.Count == options.TailLines)
        {
            if (_tail.Count == 0)
            {
                return null;
            }

            _tail.Dequeue();
        }

        _tail.Enqueue(kept);
        return null;
    }

    /// <summary>The tail's lines, oldest first, once the read reached the end (nothing without a tail).</summary>
    public IEnumerable<TrainingLogLine> Drain()
    {
        while (_tail is not null && _tail.TryDequeue(out var line))
        {
            yield return line;
        }
    }
}
