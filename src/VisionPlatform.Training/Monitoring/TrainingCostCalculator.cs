namespace VisionPlatform.Training;

/// <summary>
/// Computes <see cref="TrainingCost"/> for terminal runs. One rule for every executor, so the same job costs the same
/// on a workstation and a cluster except for the configured rates.
/// Registered in DI by <c>AddTrainingExecutors</c> (priced from <c>Training:Cost</c>); executors take it through their
/// public constructors, so a third-party executor prices its runs exactly as the built-in ones do.
/// </summary>
public sealed class TrainingCostCalculator
{
    private readonly Func<TrainingCostOptions> _options;

    /// <summary>Creates a calculator that reads the current price table on every call.</summary>
    /// <param name="options">Returns the current price table (for example from <c>IOptionsMonitor&lt;TrainingOptions&gt;</c>).</param>
    public TrainingCostCalculator(Func<TrainingCostOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
    }

    /// <summary>Creates a calculator over a fixed price table.</summary>
    /// <param name="options">The price table.</param>
    public TrainingCostCalculator(TrainingCostOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = () => options;
    }

    /// <summary>A calculator without prices: hours are computed, amounts are <see langword="null"/>.</summary>
    public static TrainingCostCalculator Unpriced { get; } = new(new TrainingCostOptions());

    /// <summary>
    /// The cost of a run that ran from <paramref name="startedAt"/> to <paramref name="finishedAt"/>, or
    /// <see langword="null"/> when either is unknown (a run that never started costs nothing, and is shown without a cost).
    /// </summary>
    /// <param name="executorName">The executor that ran it (selects <c>Training:Cost:Executors:&lt;name&gt;</c> rates).</param>
    /// <param name="gpus">GPUs the run held.</param>
    /// <param name="cpuRequest">The CPU request as a quantity (for example <c>500m</c>); <see langword="null"/> for <see cref="TrainingCostOptions.DefaultCpuCores"/>.</param>
    /// <param name="startedAt">When it started running.</param>
    /// <param name="finishedAt">When it finished.</param>
    /// <returns>The cost, or <see langword="null"/>.</returns>
    public TrainingCost? Calculate(string executorName, int gpus, string? cpuRequest, DateTimeOffset? startedAt, DateTimeOffset? finishedAt)
    {
        if (startedAt is null || finishedAt is null)
        {
            return null;
        }

        var current = _options();
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
    /// <param name="status">The status.</param>
    /// <param name="gpus">GPUs the run held.</param>
    /// <param name="cpuRequest">The CPU request as a quantity; <see langword="null"/> for the default.</param>
    /// <returns>The status with its cost.</returns>
    public TrainingRunStatus WithCost(TrainingRunStatus status, int gpus, string? cpuRequest) =>
        status.IsTerminal && status.Cost is null && Calculate(status.ExecutorName, gpus, cpuRequest, status.StartedAt, status.FinishedAt) is { } cost
            ? status with { Cost = cost }
            : status;
}
