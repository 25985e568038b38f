using System.Text.Json.Serialization;

namespace VisionPlatform.Training;

/// <summary>
/// Something that happened to training runs, delivered by <see cref="ITrainingEventSource.SubscribeAsync"/>.
/// Match on the derived types: <see cref="TrainingPhaseChangedEvent"/>, <see cref="TrainingProgressEvent"/>,
/// <see cref="TrainingLogEvent"/>, <see cref="TrainingFallbackEvent"/>, <see cref="TrainingArtifactUploadEvent"/> and
/// <see cref="TrainingEventsDroppedEvent"/>. Serialized with System.Text.Json, the <c>type</c> property names the kind
/// (<c>phase</c>, <c>progress</c>, <c>log</c>, <c>fallback</c>, <c>artifacts</c>, <c>dropped</c>), which is what a
/// browser receiving server-sent events switches on.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(TrainingPhaseChangedEvent), "phase")]
[JsonDerivedType(typeof(TrainingProgressEvent), "progress")]
[JsonDerivedType(typeof(TrainingLogEvent), "log")]
[JsonDerivedType(typeof(TrainingFallbackEvent), "fallback")]
[JsonDerivedType(typeof(TrainingArtifactUploadEvent), "artifacts")]
[JsonDerivedType(typeof(TrainingEventsDroppedEvent), "dropped")]
public abstract record TrainingJobEvent
{
    private protected TrainingJobEvent()
    {
    }

    /// <summary>When the SDK observed it.</summary>
    public required DateTimeOffset Timestamp { get; init; }
}

/// <summary>An event about one run.</summary>
public abstract record TrainingRunEvent : TrainingJobEvent
{
    private protected TrainingRunEvent()
    {
    }

    /// <summary>The run.</summary>
    public required TrainingRun Run { get; init; }

    /// <summary>The caller's job id.</summary>
    public string JobId => Run.JobId;

    /// <summary>
    /// The run's event number, starting at 1 and increasing by one with every event published for the run, whatever its
    /// kind; a subscriber that excludes logs or progress sees the numbers of the kinds it receives. The same state
    /// observed twice (after a watch reconnect or a re-list) is never published twice.
    /// </summary>
    public required long Sequence { get; init; }
}

/// <summary>The run entered a new phase, or the same phase with a new reason or attempt.</summary>
public sealed record TrainingPhaseChangedEvent : TrainingRunEvent
{
    /// <summary>The run's status after the change (with <see cref="TrainingRunStatus.Cost"/> once terminal).</summary>
    public required TrainingRunStatus Status { get; init; }

    /// <summary>The phase before the change, or <see langword="null"/> for the first status published for the run.</summary>
    public TrainingPhase? PreviousPhase { get; init; }
}

/// <summary>The trainer reported progress.</summary>
public sealed record TrainingProgressEvent : TrainingRunEvent
{
    /// <summary>The progress, with its estimate of the time left.</summary>
    public required TrainingProgress Progress { get; init; }
}

/// <summary>The trainer wrote a log line (only to subscriptions with <see cref="TrainingEventSubscription.IncludeLogs"/>).</summary>
public sealed record TrainingLogEvent : TrainingRunEvent
{
    /// <summary>The line.</summary>
    public required TrainingLogLine Line { get; init; }
}

/// <summary>A start ran on a fallback executor because the requested one was unavailable.</summary>
public sealed record TrainingFallbackEvent : TrainingRunEvent
{
    /// <summary>The executor the request asked for.</summary>
    public required string RequestedExecutor { get; init; }

    /// <summary>The executor that runs the job.</summary>
    public string ExecutorUsed => Run.ExecutorName;

    /// <summary>Why the requested executor was not used.</summary>
    public required string Reason { get; init; }
}

/// <summary>
/// The upload of a run's outputs and log to object storage reached a final state (<see cref="ArtifactUploadState.Uploaded"/>,
/// <see cref="ArtifactUploadState.Failed"/> or <see cref="ArtifactUploadState.Skipped"/>), after the run's terminal
/// <see cref="TrainingPhaseChangedEvent"/>. It is published once the state is saved, so
/// <see cref="ITrainingExecutor.GetStatusAsync"/> called after receiving it shows the same
/// <see cref="TrainingRunStatus.ArtifactUpload"/>. Not part of the current state a new subscription starts with.
/// </summary>
public sealed record TrainingArtifactUploadEvent : TrainingRunEvent
{
    /// <summary>The final upload state: where the files went, or why every attempt failed.</summary>
    public required ArtifactUploadStatus Upload { get; init; }
}

/// <summary>
/// The subscriber fell behind and its buffer overflowed: <see cref="Count"/> of its oldest undelivered events were
/// dropped just before this marker (policy <see cref="TrainingEventOverflowPolicy.DropOldest"/>). Re-read the state of
/// the runs you show (<see cref="ITrainingExecutor.GetStatusAsync"/>) to catch up.
/// </summary>
public sealed record TrainingEventsDroppedEvent : TrainingJobEvent
{
    /// <summary>How many events were dropped.</summary>
    public required long Count { get; init; }
}
