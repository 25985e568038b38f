using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;
using VisionPlatform.Training.Diagnostics;
using VisionPlatform.Training.Testing;
using VisionPlatform.Training.Tests.Routing;

namespace VisionPlatform.Training.Tests.Diagnostics;

/// <summary>
/// The services a host builds with <c>AddTrainingExecutors</c> over two scripted executors (<c>alpha</c>, the default,
/// falling back to <c>beta</c>), with a meter factory of its own and collectors for every instrument.
/// </summary>
internal sealed class TelemetryHost : IDisposable
{
    private readonly ServiceProvider _provider;
    private readonly List<IDisposable> _collectors = [];

    public TelemetryHost(Action<TrainingOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IMeterFactory, TestMeterFactory>();
        services.AddSingleton<TimeProvider>(Time);
        services.AddLogging();
        services.AddTrainingExecutors(o =>
            {
                o.DefaultExecutor = Alpha.Name;
                o.Fallback.Executors.Add(Beta.Name);
                o.Availability.BackgroundRefresh = false;
                configure?.Invoke(o);
            })
            .AddExecutor(Alpha.Name, _ => Alpha)
            .AddExecutor(Beta.Name, _ => Beta);
        _provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        var meters = _provider.GetRequiredService<IMeterFactory>();
        Starts = Collect<long>(meters, TrainingTelemetry.StartsInstrument);
        Fallbacks = Collect<long>(meters, TrainingTelemetry.FallbacksInstrument);
        Succeeded = Collect<long>(meters, TrainingTelemetry.SucceededInstrument);
        Failed = Collect<long>(meters, TrainingTelemetry.FailedInstrument);
        Stopped = Collect<long>(meters, TrainingTelemetry.StoppedInstrument);
        RunDuration = Collect<double>(meters, TrainingTelemetry.RunDurationInstrument);
        PendingDuration = Collect<double>(meters, TrainingTelemetry.PendingDurationInstrument);
        ActiveRuns = Collect<long>(meters, TrainingTelemetry.ActiveRunsInstrument);
        OldestPendingAge = Collect<double>(meters, TrainingTelemetry.OldestPendingAgeInstrument);
        EventsDropped = Collect<long>(meters, TrainingTelemetry.EventsDroppedInstrument);
        Subscribers = Collect<long>(meters, TrainingTelemetry.SubscribersInstrument);
        Client = _provider.GetRequiredService<TrainingClient>();
        Hub = _provider.GetRequiredService<TrainingEventHub>();
    }

    public ScriptedExecutor Alpha { get; } = new("alpha");

    public ScriptedExecutor Beta { get; } = new("beta");

    public TrainingClient Client { get; }

    public TrainingEventHub Hub { get; }

    public MetricCollector<long> Starts { get; }

    public MetricCollector<long> Fallbacks { get; }

    public MetricCollector<long> Succeeded { get; }

    public MetricCollector<long> Failed { get; }

    public MetricCollector<long> Stopped { get; }

    public MetricCollector<double> RunDuration { get; }

    public MetricCollector<double> PendingDuration { get; }

    public MetricCollector<long> ActiveRuns { get; }

    public MetricCollector<double> OldestPendingAge { get; }

    public MetricCollector<long> EventsDropped { get; }

    public MetricCollector<long> Subscribers { get; }

    public static DateTimeOffset T0 { get; } = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

    /// <summary>The host's clock, starting at <see cref="T0"/>.</summary>
    public FakeTimeProvider Time { get; } = new(T0);

    public static TrainingJobConfig Job(string id, string framework = "ultralytics")
    {
        var builder = SampleJobs.YoloBuilder(id, epochs: 10);
        builder.Framework = framework;
        return builder.Build();
    }

    public static TrainingRunStatus Status(TrainingRun run, TrainingPhase phase, string reason, DateTimeOffset? startedAt = null, DateTimeOffset? finishedAt = null) =>
        new() { Run = run, Phase = phase, Reason = reason, CreatedAt = T0, StartedAt = startedAt, FinishedAt = finishedAt };

    /// <summary>Reads the active-runs instrument now: the value per (executor, phase, reason).</summary>
    public Dictionary<(string Executor, string Phase, string Reason), long> ActiveNow()
    {
        ActiveRuns.Clear();
        ActiveRuns.RecordObservableInstruments();
        return ActiveRuns.GetMeasurementSnapshot().ToDictionary(
            m => ((string)m.Tags[TrainingTelemetry.ExecutorTag]!, (string)m.Tags[TrainingTelemetry.PhaseTag]!, (string)m.Tags[TrainingTelemetry.ReasonTag]!),
            m => m.Value);
    }

    /// <summary>Reads the oldest-pending-age gauge now: seconds per executor.</summary>
    public Dictionary<string, double> OldestPendingNow()
    {
        OldestPendingAge.Clear();
        OldestPendingAge.RecordObservableInstruments();
        return OldestPendingAge.GetMeasurementSnapshot().ToDictionary(m => (string)m.Tags[TrainingTelemetry.ExecutorTag]!, m => m.Value);
    }

    public long SubscribersNow()
    {
        Subscribers.Clear();
        Subscribers.RecordObservableInstruments();
        return Subscribers.GetMeasurementSnapshot().Single().Value;
    }

    public void Dispose()
    {
        _collectors.ForEach(c => c.Dispose());
        _provider.Dispose();
    }

    private MetricCollector<T> Collect<T>(IMeterFactory meters, string instrument)
        where T : struct
    {
        var collector = new MetricCollector<T>(meters, TrainingTelemetry.MeterName, instrument);
        _collectors.Add(collector);
        return collector;
    }
}
