namespace VisionPlatform.Training;

/// <summary>
/// The optional price table (<c>Training:Cost</c>) that turns GPU-hours and CPU-hours into money. Without prices,
/// <see cref="TrainingCost"/> still carries the hours.
/// </summary>
public sealed class TrainingCostOptions
{
    /// <summary>The currency code shown with amounts, for example <c>USD</c> (required when any price is set).</summary>
    public string? Currency { get; set; }

    /// <summary>The default rates, for executors without their own entry in <see cref="Executors"/>.</summary>
    public TrainingCostRates Default { get; set; } = new();

    /// <summary>Rates per executor name (for example <c>kubernetes</c> at cloud GPU prices, <c>subprocess</c> at the price of an owned workstation).</summary>
    public IDictionary<string, TrainingCostRates> Executors { get; } = new Dictionary<string, TrainingCostRates>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// CPU cores counted for a run that requested none (default 1): a subprocess run without a CPU request still
    /// occupies at least a core of its host.
    /// </summary>
    public double DefaultCpuCores { get; set; } = 1;

    internal TrainingCostRates RatesFor(string executorName) =>
        Executors.TryGetValue(executorName, out var rates) ? rates : Default;
}

/// <summary>Prices per hour of one GPU and of one CPU core.</summary>
public sealed class TrainingCostRates
{
    /// <summary>Price of one GPU for one hour.</summary>
    public decimal? GpuHour { get; set; }

    /// <summary>Price of one CPU core for one hour.</summary>
    public decimal? CpuHour { get; set; }
}
