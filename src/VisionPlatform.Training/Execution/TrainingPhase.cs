namespace VisionPlatform.Training;

/// <summary>Where a run is in its life. <see cref="TrainingRunStatus.Reason"/> says why.</summary>
public enum TrainingPhase
{
    /// <summary>Accepted but not running yet: queued for a slot, waiting for a GPU node, pulling an image.</summary>
    Pending = 0,

    /// <summary>The trainer is running.</summary>
    Running = 1,

    /// <summary>The trainer finished successfully (exit code 0 / Job Complete).</summary>
    Succeeded = 2,

    /// <summary>The trainer failed; the reason and exit code say how.</summary>
    Failed = 3,

    /// <summary>The run was stopped on request.</summary>
    Stopped = 4,

    /// <summary>The run existed but its outcome cannot be known any more (for example its process ended while no host watched it).</summary>
    Lost = 5,

    /// <summary>The executor knows no such run.</summary>
    NotFound = 6,
}
