namespace VisionPlatform.Training.Subprocess.Monitoring;

/// <summary>What makes a status worth reporting again to a watcher.</summary>
internal static class StatusChange
{
    /// <summary>
    /// Whether <paramref name="next"/> says something <paramref name="last"/> did not: any change of the run's own
    /// fields, or a new progress line. The estimate of time left changes with the clock alone, and the same progress
    /// line read twice is a new object, so progress counts as new only when its epoch, step or total changed.
    /// </summary>
    /// <param name="last">The status reported last, if any.</param>
    /// <param name="next">The status read now.</param>
    public static bool IsNews(TrainingRunStatus? last, TrainingRunStatus next)
    {
        if (last is null)
        {
            return true;
        }

        if (last with { Progress = null } != next with { Progress = null })
        {
            return true;
        }

        return (last.Progress, next.Progress) switch
        {
            (null, null) => false,
            ({ } a, { } b) => a.Epoch != b.Epoch || a.Step != b.Step || a.TotalEpochs != b.TotalEpochs,
            _ => true,
        };
    }
}
