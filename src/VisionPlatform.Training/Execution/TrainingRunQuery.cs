namespace VisionPlatform.Training;

/// <summary>Filters for listing runs. Every set filter must match.</summary>
public sealed record TrainingRunQuery
{
    /// <summary>All runs.</summary>
    public static TrainingRunQuery All { get; } = new();

    /// <summary>Only runs of this project.</summary>
    public string? ProjectId { get; init; }

    /// <summary>Only runs in these phases.</summary>
    public IReadOnlyCollection<TrainingPhase>? Phases { get; init; }

    /// <summary>Only runs whose labels contain all of these.</summary>
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
}
