using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace VisionPlatform.Training.Samples.RemoteExecutor.Tests;

/// <summary>
/// A host as an application would build it: <c>AddTrainingExecutors(Training).AddSubprocess().AddRemoteExecutor(Training:Remote)</c>
/// from configuration, with the demo trainer for subprocess runs, a price table for both executors, and its own runs
/// directory. Disposing stops every live run, the host, and removes the runs directory.
/// </summary>
internal sealed class RemoteTestHost : IAsyncDisposable
{
    public const string RemoteName = "remote";
    public const string SubprocessName = "subprocess";

    // Round rates, so a test can compute the amount from the hours: 3.60 an hour of CPU is 0.001 a second.
    public const decimal RemoteCpuHour = 3.60m;
    public const decimal RemoteGpuHour = 36.00m;
    public const decimal SubprocessCpuHour = 0.36m;

    private readonly IHost _host;
    private readonly string _runsDirectory;

    private RemoteTestHost(IHost host, string runsDirectory)
    {
        _host = host;
        _runsDirectory = runsDirectory;
    }

    public IServiceProvider Services => _host.Services;

    public TrainingClient Client => Services.GetRequiredService<TrainingClient>();

    public ITrainingEventSource Events => Services.GetRequiredService<ITrainingEventSource>();

    public static Task<RemoteTestHost> StartAsync(Uri serviceUrl, string defaultExecutor, string fallback, (string Key, string Value)[]? settings = null) =>
        StartAsync(new Dictionary<string, string?>((settings ?? []).Select(s => KeyValuePair.Create(s.Key, (string?)s.Value)))
        {
            ["Training:DefaultExecutor"] = defaultExecutor,
            ["Training:Fallback:Executors:0"] = fallback,
            ["Training:Remote:ServiceUrl"] = serviceUrl.ToString(),
        });

    public static async Task<RemoteTestHost> StartAsync(IDictionary<string, string?> settings)
    {
        var runs = Path.Combine(Path.GetTempPath(), "vp-remote-tests", Guid.NewGuid().ToString("N")[..12]);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var defaults = new Dictionary<string, string?>
        {
            ["Training:Availability:BackgroundRefresh"] = "false",
            ["Training:Fallback:VerifyTimeout"] = "00:00:10",
            ["Training:Subprocess:Interpreter"] = "python3",
            ["Training:Subprocess:Script"] = RepoPaths.TrainerScript,
            ["Training:Subprocess:RunsDirectory"] = runs,
            ["Training:Subprocess:StopGracePeriod"] = "00:00:05",
            ["Training:Remote:PollInterval"] = "00:00:00.100",
            // Generous deadlines: on a loaded machine a slow answer must not look like a service that is down.
            ["Training:Availability:ProbeTimeout"] = "00:00:30",
            ["Training:Remote:AvailabilityTimeout"] = "00:00:30",
            ["Training:Remote:RequestTimeout"] = "00:00:30",
            ["Training:Remote:StopGracePeriod"] = "00:00:05",
            ["Training:Cost:Currency"] = "USD",
            ["Training:Cost:Executors:remote:CpuHour"] = RemoteCpuHour.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Training:Cost:Executors:remote:GpuHour"] = RemoteGpuHour.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Training:Cost:Executors:subprocess:CpuHour"] = SubprocessCpuHour.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in settings)
        {
            defaults[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(defaults);
        builder.Services.AddTrainingExecutors(builder.Configuration.GetSection("Training"))
            .AddSubprocess()
            .AddRemoteExecutor(builder.Configuration.GetSection("Training:Remote"));
        var host = builder.Build();
        try
        {
            await host.StartAsync();
        }
        catch
        {
            host.Dispose();
            throw;
        }

        return new RemoteTestHost(host, runs);
    }

    /// <summary>A URL where nothing listens: the port was bound and released, so connections are refused.</summary>
    public static Uri DeadUrl()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return new Uri($"http://127.0.0.1:{port}/");
    }

    public static TrainingJobConfig Job(string jobId, int epochs = 2, double epochSeconds = 0.3, int gpus = 0, string? cpuRequest = null, string model = "yolo11n") =>
        new TrainingJobConfigBuilder
        {
            JobId = jobId,
            Framework = TrainingFramework.Ultralytics,
            TaskType = "object_detection",
            ModelName = model,
            DatasetPath = "datasets/coco8",
            DatasetFormat = "yolo",
            Epochs = epochs,
            AdvancedConfig = $"{{\"epoch_seconds\": {epochSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}}}",
            Resources = new TrainingResources { Gpus = gpus, CpuRequest = cpuRequest },
        }.Build();

    public static bool IsTerminalPhase(TrainingJobEvent e) => e is TrainingPhaseChangedEvent { Status.IsTerminal: true };

    /// <summary>Every event the collector recorded once the run's terminal phase arrived (bounded wait).</summary>
    public static async Task<List<TrainingJobEvent>> WaitForTerminalEventsAsync(VisionPlatform.Training.Testing.TrainingEventCollector collector, string jobId)
    {
        await collector.WaitForTerminalAsync(jobId, TimeSpan.FromSeconds(90));
        return [.. collector.Events];
    }

    public async ValueTask DisposeAsync()
    {
        // Trainers outlive their host by design (a restarted host reattaches), so a test stops what it started, on every
        // executor that can still be asked (a service that is down stops its own trainers).
        foreach (var name in Client.ExecutorNames)
        {
            var executor = Services.GetRequiredKeyedService<ITrainingExecutor>(name);
            try
            {
                foreach (var status in await executor.ListAsync(new TrainingRunQuery { Phases = [TrainingPhase.Pending, TrainingPhase.Running] }))
                {
                    await executor.StopAsync(status.Run, new TrainingStopOptions { GracePeriod = TimeSpan.FromSeconds(2) });
                }
            }
            catch (TrainingException e) when (e.Code == TrainingErrorCode.ExecutorUnavailable)
            {
            }
        }

        await _host.StopAsync();
        if (_host is IAsyncDisposable asyncHost)
        {
            await asyncHost.DisposeAsync();
        }
        else
        {
            _host.Dispose();
        }
        try
        {
            if (Directory.Exists(_runsDirectory))
            {
                Directory.Delete(_runsDirectory, recursive: true);
            }
        }
        catch (IOException)
        {
            // A trainer that is still exiting may hold a file for a moment; the temp directory is cleaned by the OS.
        }
    }
}
