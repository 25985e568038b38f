using VisionPlatform.Training.Subprocess.Runs;

namespace VisionPlatform.Training.Subprocess.Retention;

/// <summary>
/// When a run's record ends: a terminal run is kept for <see cref="SubprocessExecutorOptions.RunRetention"/> after it
/// finished; after that its directory is removed and its job id is free again. A run whose upload this executor still
/// has to finish is kept until the upload is final.
/// </summary>
internal sealed class RetentionPolicy(TimeSpan retention, TimeProvider time, bool uploads)
{
    /// <summary>How long a terminal run is kept.</summary>
    public TimeSpan Retention { get; } = retention;

    /// <summary>Whether a run's retention has ended.</summary>
    /// <param name="entry">The run.</param>
    public bool IsExpired(RunEntry entry)
    {
        RunStateDocument state;
        lock (entry.Sync)
        {
            state = entry.State;
        }

        return IsExpired(state);
    }

    /// <summary>Whether the retention of a run in this state has ended.</summary>
    /// <param name="state">The run's state.</param>
    public bool IsExpired(RunStateDocument state)
    {
        if (state.Phase is not (TrainingPhase.Succeeded or TrainingPhase.Failed or TrainingPhase.Stopped or TrainingPhase.Lost))
        {
            return false;
        }

        if (uploads && state.ArtifactUpload is { IsFinal: false })
        {
            return false;
        }

        var finished = state.FinishedAt ?? state.CreatedAt;
        return time.GetUtcNow() - finished >= Retention;
    }
}
