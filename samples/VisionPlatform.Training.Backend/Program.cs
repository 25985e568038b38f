// Backend sample: a minimal API over VisionPlatform.Training that starts runs, serves their status, logs and cost, and
// streams their events to browsers as server-sent events. Runs on this machine with no cluster:
//   dotnet run --project samples/VisionPlatform.Training.Backend --environment Development
//   (prints "export TOKEN=..." for the dev project; every endpoint but /health needs it)
//   curl -N -H "Authorization: Bearer $TOKEN" localhost:5080/events
//   curl localhost:5080/health ; curl -H "Authorization: Bearer $TOKEN" localhost:5080/metrics
// Endpoints: RunEndpoints (runs), EventStreamEndpoints (server-sent events), IndexPage (a live page at /),
// HealthEndpoint (/health), BackendTelemetry (/metrics). Errors: TrainingProblems maps every TrainingErrorCode.
// Security: BackendAuthentication (JWT bearer, project claim), RequestGuards (body limit, stop header), AllowedHosts.
using System.Text.Json.Serialization;
using VisionPlatform.Training.Backend;
using VisionPlatform.Training.Backend.Events;
using VisionPlatform.Training.Backend.Hosting;
using VisionPlatform.Training.Backend.Page;
using VisionPlatform.Training.Backend.Problems;
using VisionPlatform.Training.Backend.Runs;
using VisionPlatform.Training.Backend.Security;

await BackendApp.Create(args).RunAsync().ConfigureAwait(false);

namespace VisionPlatform.Training.Backend
{
    /// <summary>Composes the app; tests call <see cref="Create"/> to run it in-process on a real port.</summary>
    public static class BackendApp
    {
        /// <summary>Builds the app from <c>appsettings.json</c>, the environment and <paramref name="args"/>.</summary>
        /// <param name="args">Command-line configuration, for example <c>--urls=http://127.0.0.1:0</c>.</param>
        /// <param name="configure">Last changes before the app is built (tests swap executors here).</param>
        /// <returns>The app, not started.</returns>
        public static WebApplication Create(string[] args, Action<WebApplicationBuilder>? configure = null)
        {
            var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
            TrainerLocation.Apply(builder.Configuration);

            var training = builder.Services.AddTrainingExecutors(builder.Configuration.GetSection("Training"))
                .AddSubprocess()
                .AddTrainingHealthChecks();
            if (builder.Configuration.GetSection("Training:Kubernetes").Exists())
            {
                // Kubernetes only when configured: with no cluster the sample runs on the subprocess executor alone.
                training.AddKubernetes(builder.Configuration.GetSection("Training:Kubernetes"));
            }

            builder.Services.AddBackendTelemetry(builder.Configuration);
            builder.Services.AddProblemDetails();
            builder.Services.AddExceptionHandler<TrainingExceptionHandler>();
            builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.Converters.Add(new JsonStringEnumConverter()));
            builder.Services.AddOptions<EventStreamOptions>().BindConfiguration(EventStreamOptions.SectionName).ValidateOnStart();
            builder.Services.AddOptions<BackendLimitsOptions>().BindConfiguration(BackendLimitsOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
            builder.Services.AddSingleton<EventStreamLeases>();
            builder.Services.AddBackendAuthentication(builder.Configuration, builder.Environment);
            configure?.Invoke(builder);

            var app = builder.Build();
            app.UseExceptionHandler();
            app.UseAuthentication();
            app.UseAuthorization();
            app.UseStartBodyLimit();
            BackendAuthentication.PrintDevToken(app);
            app.MapIndexPage();
            app.MapHealthEndpoint();
            app.MapPrometheusScrapingEndpoint();
            app.MapRunEndpoints();
            app.MapEventStreamEndpoints();
            return app;
        }
    }
}
