namespace VisionPlatform.Training;

/// <summary>
/// What a finished run used: GPU-hours and CPU-hours from its running time (<see cref="TrainingRunStatus.StartedAt"/>
/// to <see cref="TrainingRunStatus.FinishedAt"/>) and its requested resources, and their price when
/// <c>Training:Cost</c> has a price table.
/// </summary>
public sealed record TrainingCost
{
    /// <summary>Running time in hours (wall clock, from start of the trainer to the end of the run).</summary>
    public required double RunningHours { get; init; }

    /// <summary>GPU-hours: requested GPUs times <see cref="RunningHours"/>.</summary>
    public required double GpuHours { get; init; }

    /// <summary>CPU-hours: requested CPU cores times <see cref="RunningHours"/>.</summary>
    public required double CpuHours { get; init; }

    /// <summary>The price of the GPU-hours and CPU-hours, when a price table is configured.</summary>
    public decimal? Amount { get; init; }

    /// <summary>The currency of <see cref="Amount"/> (for example <c>USD</c>), when a price table is configured.</summary>
    public string? Currency { get; init; }
}
