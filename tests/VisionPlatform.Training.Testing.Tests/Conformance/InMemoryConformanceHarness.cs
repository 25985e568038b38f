using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace VisionPlatform.Training.Testing.Tests.Conformance;

/// <summary>
/// The in-memory executor as a host registers it (events and cost through the container), with automatic runs whose
/// outcome each conformance job chooses, at most one GPU per job, and an hour's retention on a fake clock.
/// </summary>
internal sealed class InMemoryConformanceHarness : ExecutorConformanceHarness
{
    public static readonly TimeSpan Retention = TimeSpan.FromHours(1);

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));
    private readonly ConcurrentDictionary<string, ConformanceJobRequest> _requests = new(StringComparer.Ordinal);
    private readonly ServiceProvider _provider;

    public InMemoryConformanceHarness()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_clock);
        services.AddTrainingExecutors(o => o.DefaultExecutor = InMemoryTrainingExecutor.DefaultName).AddInMemoryExecutor(configure: o =>
        {
            o.AutoComplete = true;
            o.AutoCompleteDelay = TimeSpan.Zero;
            o.AutoCompleteExitCodeFor = ExitCodeOf;
            o.MaxGpus = 1;
            o.RunRetention = Retention;
        });
        _provider = services.BuildServiceProvider();
        Executor = _provider.GetInMemoryExecutor();
        Events = _provider.GetRequiredService<ITrainingEventSource>();
    }

    public static ExecutorConformanceCapabilities Supported => ExecutorConformanceCapabilities.All;

    public override ITrainingExecutor Executor { get; }

    public override ITrainingEventSource Events { get; }

    public override ExecutorConformanceCapabilities Capabilities => Supported;

    public override TimeSpan Timeout => TimeSpan.FromSeconds(30);

    public override TrainingJobConfig CreateJob(ConformanceJobRequest request)
    {
        var builder = SampleJobs.ForConformance(request);

        // The behaviour is part of the config, as the demo trainer's knobs are, so different behaviours never share a config hash.
        builder.AdvancedConfig = JsonSerializer.Serialize(new { behavior = request.Behavior.ToString(), exit_code = request.ExitCode });
        var config = builder.Build();
        _requests[config.ConfigHash] = request;
        return config;
    }

    public override ConformanceRejectedJob CreateRejectedJob(string jobId)
    {
        var builder = SampleJobs.YoloBuilder(jobId);
        builder.Resources = new TrainingResources { Gpus = 2 };
        return new ConformanceRejectedJob(builder.Build(), "Resources.Gpus");
    }

    public override Task ExpireRunAsync(TrainingRun run, CancellationToken cancellationToken = default)
    {
        _clock.Advance(Retention);
        return Task.CompletedTask;
    }

    protected override async ValueTask DisposeAsyncCore() => await _provider.DisposeAsync();

    private int? ExitCodeOf(TrainingJobConfig config) =>
        _requests.TryGetValue(config.ConfigHash, out var request)
            ? request.Behavior switch
            {
                ConformanceJobBehavior.Succeed => 0,
                ConformanceJobBehavior.Fail => request.ExitCode,
                _ => null,
            }
            : 0;
}
