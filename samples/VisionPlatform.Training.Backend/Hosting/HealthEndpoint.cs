using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using VisionPlatform.Training.Backend.Problems;

namespace VisionPlatform.Training.Backend.Hosting;

/// <summary>
/// <c>GET /health</c>: the SDK's <c>training-executors</c> check (<c>AddTrainingHealthChecks()</c>) as JSON, status as a
/// string: 200 <c>Healthy</c> (the default executor can start runs), 200 <c>Degraded</c> (only a fallback can), 503
/// <c>Unhealthy</c> (none can). Each check lists its executors with <c>available</c> or <c>unavailable: reason</c>.
/// </summary>
internal static class HealthEndpoint
{
    public static IEndpointRouteBuilder MapHealthEndpoint(this IEndpointRouteBuilder app)
    {
        // The one anonymous endpoint: probes carry no token, and the body names no run.
        app.MapHealthChecks("/health", new HealthCheckOptions { ResponseWriter = WriteAsync }).AllowAnonymous();
        return app;
    }

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(
                e => e.Key,
                e => new
                {
                    status = e.Value.Status.ToString(),
                    description = TrainingProblems.RedactPaths(e.Value.Description),
                    data = e.Value.Data.ToDictionary(d => d.Key, d => TrainingProblems.RedactPaths(d.Value?.ToString())),
                }),
        };
        // The app's JSON options, as every other answer; MapHealthChecks has set the status code already.
        return TypedResults.Json(body).ExecuteAsync(context);
    }
}
