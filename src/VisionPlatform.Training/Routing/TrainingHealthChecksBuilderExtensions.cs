using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace VisionPlatform.Training;

/// <summary>Registers the training executors' health check.</summary>
public static class TrainingHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds <see cref="TrainingExecutorsHealthCheck"/> to the host's health checks (named <c>training-executors</c> by
    /// default): Healthy when the default executor is available, Degraded when only a fallback is, otherwise
    /// <paramref name="failureStatus"/>. Calling it twice with the same name adds the check once.
    /// </summary>
    /// <param name="builder">The training builder.</param>
    /// <param name="name">The check's name.</param>
    /// <param name="failureStatus">The status when no executor can start runs (default <see cref="HealthStatus.Unhealthy"/>).</param>
    /// <param name="tags">Tags for filtering checks, for example <c>ready</c>.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ITrainingExecutorsBuilder AddTrainingHealthChecks(
        this ITrainingExecutorsBuilder builder,
        string name = TrainingExecutorsHealthCheck.DefaultName,
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var marker = new TrainingHealthCheckMarker(name);
        if (builder.Services.Any(d => d.ServiceType == typeof(TrainingHealthCheckMarker) && Equals(d.ImplementationInstance, marker)))
        {
            return builder;
        }

        builder.Services.AddSingleton(marker);
        builder.Services.AddHealthChecks().AddCheck<TrainingExecutorsHealthCheck>(name, failureStatus, tags ?? []);
        return builder;
    }

    private sealed record TrainingHealthCheckMarker(string Name);
}
