using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace VisionPlatform.Training;

/// <summary>
/// Reports whether new training runs can start, and on which executors: <see cref="HealthStatus.Healthy"/> when the
/// default executor is available, <see cref="HealthStatus.Degraded"/> when only a fallback is, when the default is
/// available with problems (its availability carries a reason, for example one framework's missing interpreter), or when
/// neither the default nor a fallback is but another registered executor is (runs that name it still start); the
/// registration's failure status (usually <see cref="HealthStatus.Unhealthy"/>) only when no registered executor can
/// start runs. The description names the executors that can start runs; the data lists every registered executor (the
/// default chain first) with <c>available</c> or <c>unavailable: reason</c>. Uses the client's cached availability, so it
/// is cheap to poll. Register it with <c>.AddTrainingHealthChecks()</c> on the training builder.
/// </summary>
/// <param name="client">The client whose executors are checked.</param>
/// <param name="options">The default executor and the fallback chain.</param>
public sealed class TrainingExecutorsHealthCheck(TrainingClient client, IOptionsMonitor<TrainingOptions> options) : IHealthCheck
{
    /// <summary>The name the check is registered under by default.</summary>
    public const string DefaultName = "training-executors";

    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var current = options.CurrentValue;
        List<string> chain = [current.DefaultExecutor];
        if (current.Fallback.Enabled)
        {
            chain.AddRange(current.Fallback.Executors.Where(n => !chain.Contains(n, StringComparer.OrdinalIgnoreCase)).Distinct(StringComparer.OrdinalIgnoreCase));
        }

        // Executors outside the default chain still start runs that name them (TrainingStartOptions.Executor).
        var others = client.ExecutorNames
            .Where(n => !chain.Contains(n, StringComparer.OrdinalIgnoreCase))
            .Order(StringComparer.OrdinalIgnoreCase);
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        var available = new List<string>();
        var problems = new List<string>();
        foreach (var name in chain.Concat(others))
        {
            string state;
            try
            {
                var availability = await client.GetAvailabilityAsync(name, cancellationToken).ConfigureAwait(false);
                state = (availability.IsAvailable, availability.Reason) switch
                {
                    (true, null or "") => "available",
                    (true, var note) => $"available, with problems: {note}",
                    (false, var reason) => $"unavailable: {reason}",
                };
                if (availability.IsAvailable)
                {
                    available.Add(name);
                    if (!string.IsNullOrEmpty(availability.Reason))
                    {
                        problems.Add(name);
                    }
                }
            }
            catch (TrainingException e) when (e.Code == TrainingErrorCode.UnknownExecutor)
            {
                state = "unavailable: not registered";
            }

            data[name] = state;
        }

        var primary = chain[0];
        var canStart = available.Count == 0 ? string.Empty : $" Executors that can start runs: {string.Join(", ", available.Select(n => $"'{n}'"))}.";
        if (available.Contains(primary, StringComparer.OrdinalIgnoreCase))
        {
            return problems.Contains(primary, StringComparer.OrdinalIgnoreCase)
                ? HealthCheckResult.Degraded(Sentence($"Default training executor '{primary}' is {data[primary]}") + canStart, data: data)
                : HealthCheckResult.Healthy($"Default training executor '{primary}' is available." + canStart, data);
        }

        if (available.FirstOrDefault(n => chain.Contains(n, StringComparer.OrdinalIgnoreCase)) is { } fallback)
        {
            return HealthCheckResult.Degraded(
                Sentence($"Default training executor '{primary}' is unavailable ({data[primary]}); new runs fall back to '{fallback}'") + canStart, data: data);
        }

        if (available.Count > 0)
        {
            var why = current.Fallback.Enabled ? "no fallback executor is available" : "fallback is off (Training:Fallback:Enabled)";
            return HealthCheckResult.Degraded(
                Sentence($"Default training executor '{primary}' is unavailable ({data[primary]}) and {why}, so runs that name no executor cannot start") + canStart,
                data: data);
        }

        return new HealthCheckResult(
            context.Registration.FailureStatus,
            Sentence($"No training executor can start runs: {string.Join("; ", data.Select(d => $"'{d.Key}' {Unterminated((string)d.Value)}"))}"),
            data: data);
    }

    // Reasons are sentences of their own: one final period, never "..".
    private static string Sentence(string text) => Unterminated(text) + ".";

    private static string Unterminated(string text)
    {
        var trimmed = text.TrimEnd();
        while (trimmed.EndsWith('.') && !trimmed.EndsWith("...", StringComparison.Ordinal))
        {
            trimmed = trimmed[..^1];
        }

        return trimmed;
    }
}
