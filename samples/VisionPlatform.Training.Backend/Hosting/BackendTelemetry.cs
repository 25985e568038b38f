using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using VisionPlatform.Training.Diagnostics;

namespace VisionPlatform.Training.Backend.Hosting;

/// <summary>
/// OpenTelemetry for the SDK's meter and activity source (both <see cref="TrainingTelemetry.MeterName"/>). Metrics are
/// served at <c>GET /metrics</c> in the Prometheus text format, so they work with no collector: scrape it, or
/// <c>curl</c> it. Traces (<c>training.start</c>, <c>training.stop</c>) are exported over OTLP only when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the OpenTelemetry standard variable; the exporter reads the rest of
/// <c>OTEL_EXPORTER_OTLP_*</c> itself); without it nothing is exported and nothing tries to connect.
/// </summary>
internal static class BackendTelemetry
{
    /// <summary>The OpenTelemetry service name (overridden by <c>OTEL_SERVICE_NAME</c>).</summary>
    public const string ServiceName = "visionplatform-training-backend";

    public static IServiceCollection AddBackendTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        var otlp = !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(ServiceName))
            .WithMetrics(m => m
                .AddMeter(TrainingTelemetry.MeterName)
                .AddPrometheusExporter())
            .WithTracing(t =>
            {
                t.AddSource(TrainingTelemetry.ActivitySourceName);
                if (otlp)
                {
                    t.AddOtlpExporter();
                }
            });
        return services;
    }
}
