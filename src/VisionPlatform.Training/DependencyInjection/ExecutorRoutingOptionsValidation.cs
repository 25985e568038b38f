namespace VisionPlatform.Training;

/// <summary>Start-up checks for <c>Training:Fallback</c> and <c>Training:Availability</c>; messages name the key and the rule.</summary>
internal static class ExecutorRoutingOptionsValidation
{
    /// <summary>
    /// <c>DefaultExecutor</c> is set and registered, and every <c>Fallback:Executors</c> entry is registered; each
    /// message names the key and lists the registered executors.
    /// </summary>
    public static void ValidateNames(List<string> errors, string p, TrainingOptions options, IReadOnlyList<string> registered)
    {
        var names = registered.Count == 0
            ? "none (chain .AddSubprocess(), .AddKubernetes() or .AddExecutor(name, factory) on AddTrainingExecutors)"
            : string.Join(", ", registered.Distinct(StringComparer.OrdinalIgnoreCase));
        if (string.IsNullOrWhiteSpace(options.DefaultExecutor))
        {
            errors.Add($"{p}:DefaultExecutor is required: set it to the executor new runs go to. Registered executors: {names}.");
        }
        else if (!registered.Contains(options.DefaultExecutor, StringComparer.OrdinalIgnoreCase))
        {
            errors.Add($"{p}:DefaultExecutor is '{options.DefaultExecutor}', which is not a registered executor. Registered executors: {names}.");
        }

        var fallbacks = options.Fallback.Executors;
        for (var i = 0; i < fallbacks.Count; i++)
        {
            if (!string.IsNullOrWhiteSpace(fallbacks[i]) && !registered.Contains(fallbacks[i], StringComparer.OrdinalIgnoreCase))
            {
                errors.Add($"{p}:Fallback:Executors:{i} is '{fallbacks[i]}', which is not a registered executor. Registered executors: {names}.");
            }
        }
    }

    public static void Validate(List<string> errors, string p, TrainingOptions options)
    {
        var f = options.Fallback;
        for (var i = 0; i < f.Executors.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(f.Executors[i]))
            {
                errors.Add($"{p}:Fallback:Executors:{i} is empty: name a registered executor (for example 'subprocess').");
            }
        }

        if (f.Executors.Distinct(StringComparer.OrdinalIgnoreCase).Count() != f.Executors.Count)
        {
            errors.Add($"{p}:Fallback:Executors lists an executor twice: each executor is tried at most once.");
        }

        CheckRange(errors, $"{p}:Fallback:VerifyTimeout", f.VerifyTimeout, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(5));

        var a = options.Availability;
        CheckRange(errors, $"{p}:Availability:RefreshInterval", a.RefreshInterval, TimeSpan.FromMilliseconds(50), TimeSpan.FromHours(1));
        CheckRange(errors, $"{p}:Availability:ProbeTimeout", a.ProbeTimeout, TimeSpan.FromMilliseconds(50), TimeSpan.FromMinutes(5));

        var b = a.CircuitBreaker;
        var bp = $"{p}:Availability:CircuitBreaker";
        if (b.FailureRatio is <= 0 or > 1 || double.IsNaN(b.FailureRatio))
        {
            errors.Add($"{bp}:FailureRatio is {b.FailureRatio}: it must be greater than 0 and at most 1.");
        }

        if (b.MinimumThroughput < 2)
        {
            errors.Add($"{bp}:MinimumThroughput is {b.MinimumThroughput}: it must be at least 2.");
        }

        CheckRange(errors, $"{bp}:SamplingDuration", b.SamplingDuration, TimeSpan.FromMilliseconds(500), TimeSpan.FromDays(1));
        CheckRange(errors, $"{bp}:BreakDuration", b.BreakDuration, TimeSpan.FromMilliseconds(500), TimeSpan.FromDays(1));
    }

    private static void CheckRange(List<string> errors, string key, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            errors.Add($"{key} is {value}: it must be between {min} and {max}.");
        }
    }
}
