using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using VisionPlatform.Training.Testing;
using VisionPlatform.Training.TestSupport;

namespace VisionPlatform.Training.Samples.RemoteExecutor.Tests.Conformance;

/// <summary>
/// The remote executor as a host registers it (<c>AddTrainingExecutors(Training).AddRemoteExecutor(Training:Remote)</c>),
/// in front of a fresh <see cref="RemoteTrainingService"/> that runs the demo trainer as real child processes. The
/// trainer's behaviour comes from its knobs in <c>advanced_config</c>; the service takes at most one GPU per job, so a
/// two-GPU job is refused; a run's record expires as the service's retention would remove it.
/// </summary>
internal sealed class RemoteConformanceHarness : ExecutorConformanceHarness
{
    private const string Name = RemoteExecutorBuilderExtensions.DefaultName;

    private readonly RemoteTrainingService _service;
    private readonly IHost _host;

    private RemoteConformanceHarness(RemoteTrainingService service, IHost host)
    {
        _service = service;
        _host = host;
        Executor = host.Services.GetRequiredKeyedService<ITrainingExecutor>(Name);
        Events = host.Services.GetRequiredService<ITrainingEventSource>();
    }

    public static ExecutorConformanceCapabilities Supported => ExecutorConformanceCapabilities.All;

    public override ITrainingExecutor Executor { get; }

    public override ITrainingEventSource Events { get; }

    public override ExecutorConformanceCapabilities Capabilities => Supported;

    public static async Task<RemoteConformanceHarness> StartAsync()
    {
        var service = await RemoteTrainingService.StartAsync();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Training:DefaultExecutor"] = Name,
            ["Training:Availability:BackgroundRefresh"] = "false",
            ["Training:Remote:ServiceUrl"] = service.Url.ToString(),
            ["Training:Remote:PollInterval"] = "00:00:00.100",
            ["Training:Remote:AvailabilityTimeout"] = "00:00:30",
            ["Training:Remote:RequestTimeout"] = "00:00:30",
            ["Training:Remote:StopGracePeriod"] = "00:00:10",
            ["Training:Remote:MaxGpusPerJob"] = "1",
        });
        builder.Services.AddTrainingExecutors(builder.Configuration.GetSection("Training"))
            .AddRemoteExecutor(builder.Configuration.GetSection("Training:Remote"));
        var host = builder.Build();
        await host.StartAsync();
        return new RemoteConformanceHarness(service, host);
    }

    public override TrainingJobConfig CreateJob(ConformanceJobRequest request)
    {
        return DemoTrainerJobs.For(request).Build();
    }

    public override ConformanceRejectedJob CreateRejectedJob(string jobId)
    {
        var builder = SampleJobs.YoloBuilder(jobId);
        builder.Resources = new TrainingResources { Gpus = 2 };
        return new ConformanceRejectedJob(builder.Build(), "Resources.Gpus");
    }

    public override Task ExpireRunAsync(TrainingRun run, CancellationToken cancellationToken = default)
    {
        // What the service's retention does to a finished job: its record goes, and the job id is free.
        _service.Expire(run.JobId);
        return Task.CompletedTask;
    }

    protected override async ValueTask DisposeAsyncCore()
    {
        foreach (var status in await Executor.ListAsync(new TrainingRunQuery { Phases = [TrainingPhase.Pending, TrainingPhase.Running] }))
        {
            await Executor.StopAsync(status.Run, new TrainingStopOptions { GracePeriod = TimeSpan.FromSeconds(2) });
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

        await _service.DisposeAsync();
    }
}
