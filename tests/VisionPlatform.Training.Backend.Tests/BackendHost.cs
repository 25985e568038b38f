using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace VisionPlatform.Training.Backend.Tests;

/// <summary>The sample app on a real Kestrel port, with its own runs directory; stopped and cleaned up on dispose.</summary>
internal sealed class BackendHost : IAsyncDisposable
{
    private BackendHost(WebApplication app, string runsDirectory)
    {
        App = app;
        RunsDirectory = runsDirectory;
        Http = new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromSeconds(60) };
    }

    public WebApplication App { get; }

    public HttpClient Http { get; }

    public string RunsDirectory { get; }

    public static async Task<BackendHost> StartAsync(Action<WebApplicationBuilder>? configure = null, params string[] settings)
    {
        var runs = Path.Combine(Path.GetTempPath(), "vp-backend-tests", Guid.NewGuid().ToString("N")[..12]);
        string[] args =
        [
            "--urls=http://127.0.0.1:0",
            "--Logging:LogLevel:Default=Warning",
            "--Training:Subprocess:RunsDirectory=" + runs,
            .. settings,
        ];
        var app = BackendApp.Create(args, configure);
        await app.StartAsync();
        return new BackendHost(app, runs);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();

        // Trainers outlive their executor by design (a restarted host reattaches), so a test stops what it started.
        var client = App.Services.GetRequiredService<TrainingClient>();
        foreach (var status in await client.ListAsync(new TrainingRunQuery { Phases = [TrainingPhase.Pending, TrainingPhase.Running] }))
        {
            await client.GetOperation(status.Run).StopAsync(new TrainingStopOptions { GracePeriod = TimeSpan.FromSeconds(2) });
        }

        await App.StopAsync();
        await App.DisposeAsync();
        try
        {
            if (Directory.Exists(RunsDirectory))
            {
                Directory.Delete(RunsDirectory, recursive: true);
            }
        }
        catch (IOException)
        {
            // A trainer that is still exiting may hold a file for a moment; the temp directory is cleaned by the OS.
        }
    }
}
