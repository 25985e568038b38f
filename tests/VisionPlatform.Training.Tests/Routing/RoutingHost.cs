using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Options;
using VisionPlatform.Training.Diagnostics;
using VisionPlatform.Training.Testing;

namespace VisionPlatform.Training.Tests.Routing;

/// <summary>A service provider with the training client over two scripted executors, a fake clock and metric collectors.</summary>
internal sealed class RoutingHost : IDisposable
{
    private readonly ServiceProvider _provider;
    private readonly Action<TrainingOptions> _configure;

    public RoutingHost(ScriptedExecutor primary, ScriptedExecutor secondary, Action<TrainingOptions>? configure = null)
    {
        Primary = primary;
        Secondary = secondary;
        _configure = o =>
        {
            o.DefaultExecutor = primary.Name;
            o.Fallback.Executors.Add(secondary.Name);
            o.Availability.BackgroundRefresh = false;
            configure?.Invoke(o);
        };

        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(Time);
        services.AddSingleton<System.Diagnostics.Metrics.IMeterFactory, TestMeterFactory>();
        services.AddLogging();
        services.AddTrainingExecutors(o => _configure(o))
            .AddExecutor(primary.Name, _ => primary)
            .AddExecutor(secondary.Name, _ => secondary)
            .AddTrainingHealthChecks();
        _provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        var meters = _provider.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        Fallbacks = new MetricCollector<long>(meters, TrainingTelemetry.MeterName, TrainingTelemetry.FallbacksInstrument);
        StartFailures = new MetricCollector<long>(meters, TrainingTelemetry.MeterName, TrainingTelemetry.StartFailuresInstrument);
        Client = _provider.GetRequiredService<TrainingClient>();
    }

    public TimerCountingTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public ScriptedExecutor Primary { get; }

    public ScriptedExecutor Secondary { get; }

    public TrainingClient Client { get; }

    public MetricCollector<long> Fallbacks { get; }

    public MetricCollector<long> StartFailures { get; }

    public IServiceProvider Services => _provider;

    /// <summary>Changes options the way a configuration reload would.</summary>
    public void Reconfigure(Action<TrainingOptions> change)
    {
        var services = _provider;
        var cache = services.GetRequiredService<IOptionsMonitorCache<TrainingOptions>>();
        var current = services.GetRequiredService<IOptionsMonitor<TrainingOptions>>().CurrentValue;
        change(current);
        cache.TryRemove(Options.DefaultName);
        cache.TryAdd(Options.DefaultName, current);
    }

    public Task<HealthReport> CheckHealthAsync() =>
        _provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();

    public static TrainingJobConfig Job(string id = "job-1", int gpus = 0)
    {
        var builder = SampleJobs.YoloBuilder(id, epochs: 10);
        builder.Resources = new TrainingResources { Gpus = gpus };
        return builder.Build();
    }

    public void Dispose()
    {
        Fallbacks.Dispose();
        StartFailures.Dispose();
        _provider.Dispose();
    }
}
