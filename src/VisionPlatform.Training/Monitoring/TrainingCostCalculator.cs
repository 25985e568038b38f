namespace VisionPlatform.Training;

/// <summary>
/// Computes <see cref="TrainingCost"/> for terminal runs. One rule for every executor, so the same job costs the same
/// on a workstation and a cluster except for the configured rates.
/// </summary>
internal sealed class TrainingCostCalculator(Func<TrainingCostOptions> options)
{
    public static TrainingCostCalculator Unpriced { get; } = new(() => new TrainingCostOptions());

    /// <summary>
    /// The cost of a run that ran from <paramref name="startedAt"/> to <paramref name="finishedAt"/>, or
    /// <see langword="null"/> when either is unknown (a run that never started costs nothing, and is shown without a cost).
    /// </summary>
    public TrainingCost? Calculate(string executorName, int gpus, string? cpuRequest, DateTimeOffset? startedAt, DateTimeOffset? finishedAt)
    {
        if (startedAt is null || finishedAt is null)
        {
            return null;
        }

        var current = options();
        var hours = Math.Max(0, (finishedAt.Value - startedAt.Value).TotalHours);
        var cores = ResourceQuantity.TryParse(cpuRequest, out var parsed) && parsed > 0 ? (double)parsed : current.DefaultCpuCores;
        var gpuHours = Math.Max(0, gpus) * hours;
        var cpuHours = cores * hours;
        var rates = current.RatesFor(executorName);
        decimal? amount = rates.GpuHour is null && rates.CpuHour is null
            ? null
            : Math.Round(((decimal)gpuHours * (rates.GpuHour ?? 0m)) + ((decimal)cpuHours * (rates.CpuHour ?? 0m)), 4, MidpointRounding.AwayFromZero);
        return new TrainingCost
        {
            RunningHours = hours,
            GpuHours = gpuHours,
            CpuHours = cpuHours,
            Amount = amount,
            Currency = amount is null ? null : current.Currency,
        };
    }

    /// <summary>Adds the cost to a terminal status that has none; other statuses are returned unchanged.</summary>
    public TrainingRunStatus WithCost(TrainingRunStatus status, int gpus, string? cpuRequest) =>
        status.IsTerminal && status.Cost is null && Calculate(status.ExecutorName, gpus, cpuRequest, status.StartedAt, status.FinishedAt) is { } cost
            ? status with { Cost = cost }
            : status;
}
