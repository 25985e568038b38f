using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace VisionPlatform.Training.Testing.Tests.Sample;

/// <summary>
/// The backend's composition and endpoints, as its Program.cs would use them:
/// <code>
/// builder.Services.AddTrainingJobsApi(builder.Configuration);
/// app.MapTrainingJobs();
/// </code>
/// </summary>
public static class TrainingJobsApi
{
    public static IServiceCollection AddTrainingJobsApi(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddTrainingExecutors(configuration.GetSection("Training")).AddSubprocess();
        services.AddSingleton<TrainingJobsService>();
        return services;
    }

    public static IEndpointRouteBuilder MapTrainingJobs(this IEndpointRouteBuilder app)
    {
        // Handles contain '/', so they are the catch-all tail of the route.
        app.MapPost("/training-jobs", async (StartTrainingRequest request, TrainingJobsService jobs, CancellationToken ct) =>
            await jobs.StartAsync(request, ct) switch
            {
                { Outcome: StartOutcome.Started, Handle: { } handle } => Results.Accepted($"/training-jobs/{handle}", new { handle }),
                { Outcome: StartOutcome.Invalid, Errors: { } errors } => Results.ValidationProblem(errors),
                { Outcome: StartOutcome.Conflict } x => Results.Problem(x.Message, statusCode: StatusCodes.Status409Conflict),
                var x => Results.Problem(x.Message, statusCode: StatusCodes.Status503ServiceUnavailable),
            });

        app.MapGet("/training-jobs/{**handle}", async (string handle, TrainingJobsService jobs, CancellationToken ct) =>
            await jobs.GetAsync(handle, ct) is { } job ? Results.Ok(job) : Results.NotFound());

        app.MapDelete("/training-jobs/{**handle}", async (string handle, TrainingJobsService jobs, CancellationToken ct) =>
            await jobs.CancelAsync(handle, ct) is { } job ? Results.Ok(job) : Results.NotFound());

        app.MapGet("/training-job-logs/{**handle}", async (string handle, int? tail, TrainingJobsService jobs, CancellationToken ct) =>
            await jobs.GetAsync(handle, ct) is null
                ? Results.NotFound()
                : Results.Ok(await jobs.GetLogTailAsync(handle, tail ?? 100, ct)));

        return app;
    }
}
