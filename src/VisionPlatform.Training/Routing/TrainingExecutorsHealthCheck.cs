using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace VisionPlatform.Training;

/// <summary>
/// Reports whether new training runs can start: <see cref="HealthStatus.Healthy"/> when the default executor is
/// available, <see cref="HealthStatus.Degraded"/> when only a fallback is or when the default is available with
/// problems (its availability carries a reason, for example one framework's missing interpreter), and the registration's failure status
/// (usually <see cref="HealthStatus.Unhealthy"/>) when none is. The data lists every executor in the default chain
/// with <c>available</c> or <c>unavailable: reason</c>. Uses the client's cached availability, so it is cheap to poll.
/// Register it with <c>.AddTrainingHealthChecks()</c> on the training builder.
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

        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        var available = new List<string>();
        var problems = new List<string>();
        foreach (var name in chain)
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
        if (available.Contains(primary, StringComparer.OrdinalIgnoreCase))
        {
            return problems.Contains(primary, StringComparer.OrdinalIgnoreCase)
                ? HealthCheckResult.Degraded($"Default training executor '{primary}' is {data[primary]}", data: data)
                : HealthCheckResult.Healthy($"Default training executor '{primary}' is available.", data);
        }

        return available.Count > 0
            ? HealthCheckResult.Degraded($"Default training executor '{primary}' is unavailable ({data[primary]}); new runs fall back to '{available[0]}'.", data: data)
            : new HealthCheckResult(context.Registration.FailureStatus, $"No training executor can start runs: {string.Join("; ", data.Select(d => $"'{d.Key}' {d.Value}"))}.", data: data);
    }
}
