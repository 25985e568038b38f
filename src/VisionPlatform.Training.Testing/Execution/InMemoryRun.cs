namespace VisionPlatform.Training.Testing;

/// <summary>The mutable state of one in-memory run. Every member is used under the executor's lock.</summary>
internal sealed class InMemoryRun(TrainingRun handle, TrainingJobConfig config, TrainingRunStatus initial)
{
    private TaskCompletionSource _changed = NewSignal();

    public TrainingRun Handle { get; } = handle;

    public TrainingJobConfig Config { get; } = config;

    /// <summary>Every distinct status in order; watchers replay from their position so none is missed.</summary>
    public List<TrainingRunStatus> History { get; } = [initial];

    /// <summary>The log; every line carries its timestamp (callers only see it when they ask).</summary>
    public List<TrainingLogLine> Log { get; } = [];

    public TrainingRunStatus Current => History[^1];

    /// <summary>The latest progress parsed from a <c>VP_PROGRESS</c> log line, with its estimate of the time left.</summary>
    public TrainingProgress? Progress { get; set; }

    /// <summary>What callers see: the current status with the latest progress.</summary>
    public TrainingRunStatus View => Progress is null || ReferenceEquals(Current.Progress, Progress) ? Current : Current with { Progress = Progress };

    /// <summary>Completes on the next change of status or log.</summary>
    public Task Changed => _changed.Task;

    public ITimer? AutoCompleteTimer { get; set; }

    /// <summary>The exit code an automatic run finishes with, or <see langword="null"/> when it runs until stopped.</summary>
    public int? AutoExitCode { get; set; }

    public void Signal()
    {
        // Swap first, then release the waiters: they re-read the state and wait on the new signal.
        var previous = _changed;
        _changed = NewSignal();
        previous.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
