namespace VisionPlatform.Training.Testing;

/// <summary>
/// Which runs a <see cref="TrainingRunQuery"/> selects, with the real executors' semantics: every set filter must match;
/// a project id matches ordinally; phases match when the run is in one of them (a <see langword="null"/> or empty set is
/// no filter, as on Kubernetes); labels match when the run has every queried key with exactly that value (a Kubernetes
/// equality selector).
/// </summary>
internal static class InMemoryRunQuery
{
    public static bool Matches(TrainingJobConfig config, TrainingPhase phase, TrainingRunQuery query)
    {
        if (query.ProjectId is not null && !string.Equals(config.ProjectId, query.ProjectId, StringComparison.Ordinal))
        {
            return false;
        }

        if (query.Phases is { Count: > 0 } phases && !phases.Contains(phase))
        {
            return false;
        }

        return query.Labels is null ||
               query.Labels.All(l => config.Labels.TryGetValue(l.Key, out var value) && string.Equals(value, l.Value, StringComparison.Ordinal));
    }
}
