using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using VisionPlatform.Training.Backend.Security;

namespace VisionPlatform.Training.Backend.Tests;

/// <summary>
/// The sample app on a real Kestrel port, with its own runs directory; stopped and cleaned up on dispose. <see cref="Http"/>
/// is a caller of <see cref="Project"/> (a bearer token signed with the test key) that sends the stop header.
/// </summary>
internal sealed class BackendHost : IAsyncDisposable
{
    /// <summary>The project of <see cref="Http"/>'s token.</summary>
    public const string Project = "project-7";

    private const string SigningKey = "backend-tests-signing-key-0123456789abcdef";

    private BackendHost(WebApplication app, string runsDirectory)
    {
        App = app;
        RunsDirectory = runsDirectory;
        Http = Client(Token(Project));
        Http.DefaultRequestHeaders.Add(RequestGuards.StopHeader, "1");
    }

    public WebApplication App { get; }

    public HttpClient Http { get; }

    public string RunsDirectory { get; }

    /// <summary>A token for <paramref name="project"/> signed with the test key, valid 2020-2040 whatever clock a test fakes.</summary>
    public static string Token(string project, string? subject = null) => BackendAuthentication.MintToken(
        new BackendAuthOptions { SigningKey = SigningKey },
        project,
        TimeSpan.FromDays(20 * 365),
        new FakeTimeProvider(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero)),
        subject);

    /// <summary>A new client of the app, with <paramref name="token"/> as its bearer token when given and no other default header.</summary>
    public HttpClient Client(string? token)
    {
        var http = new HttpClient { BaseAddress = new Uri(App.Urls.First()), Timeout = TimeSpan.FromSeconds(60) };
        if (token is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return http;
    }

    public static async Task<BackendHost> StartAsync(Action<WebApplicationBuilder>? configure = null, params string[] settings)
    {
        var runs = Path.Combine(Path.GetTempPath(), "vp-backend-tests", Guid.NewGuid().ToString("N")[..12]);
        string[] args =
        [
            "--urls=http://127.0.0.1:0",
            "--Logging:LogLevel:Default=Warning",
            "--Training:Subprocess:RunsDirectory=" + runs,
            "--Backend:Auth:SigningKey=" + SigningKey,
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
