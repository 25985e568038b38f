using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VisionPlatform.Training;
using VisionPlatform.Training.Diagnostics;
using VisionPlatform.Training.Routing;
using VisionPlatform.Training.Trainers;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the training SDK in a host's service collection.</summary>
public static class TrainingServiceCollectionExtensions
{
    /// <summary>
    /// Registers the training client, routing, events, telemetry and cost, and no executor: chain the executors the host
    /// uses, for example <c>.AddSubprocess()</c> or <c>.AddKubernetes()</c>, and set <c>Training:DefaultExecutor</c>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <returns>A builder to chain more executors, for example <c>.AddKubernetes()</c>.</returns>
    public static ITrainingExecutorsBuilder AddTrainingExecutors(this IServiceCollection services) =>
        AddTrainingExecutorsCore(services, TrainingOptions.SectionName, configure: null);

    /// <summary>Registers the training executors and configures their options in code.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures the options.</param>
    /// <returns>A builder to chain more executors.</returns>
    public static ITrainingExecutorsBuilder AddTrainingExecutors(this IServiceCollection services, Action<TrainingOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return AddTrainingExecutorsCore(services, TrainingOptions.SectionName, o => o.Configure(configure));
    }

    /// <summary>Registers the training executors and binds their options from configuration (usually <c>Training</c>).</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The configuration section.</param>
    /// <returns>A builder to chain more executors.</returns>
    public static ITrainingExecutorsBuilder AddTrainingExecutors(this IServiceCollection services, IConfigurationSection configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return AddTrainingExecutorsCore(services, configuration.Path, o => o.Bind(configuration));
    }

    private static TrainingExecutorsBuilder AddTrainingExecutorsCore(
        IServiceCollection services,
        string sectionPath,
        Action<OptionsBuilder<TrainingOptions>>? configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<TrainingOptions>();
        configure?.Invoke(options);

        var builder = new TrainingExecutorsBuilder(services);
        if (services.Any(d => d.ServiceType == typeof(TrainingClient)))
        {
            // Second call: only the extra configuration above applies.
            return builder;
        }

        options.ValidateOnStart();
        services.AddSingleton<IValidateOptions<TrainingOptions>>(sp =>
            new TrainingOptionsValidator(
                sectionPath,
                sp.GetServices<TrainingExecutorRegistration>().Select(r => r.Name).ToArray(),
                sp.GetServices<BuiltInSubprocessRegistration>().Any(r => r.IsRegistered())));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ITrainerContract>(sp =>
            sp.GetRequiredService<IOptions<TrainingOptions>>().Value.Trainer.Contract == JsonConfigTrainerContract.ContractName
                ? new JsonConfigTrainerContract()
                : new FlagTrainerContract());

        // Telemetry, events and cost: what every executor (built-in or third-party) takes through its constructor.
        services.TryAddSingleton(sp => new TrainingMetrics(sp.GetService<IMeterFactory>(), sp.GetService<TimeProvider>()));
        services.TryAddSingleton(sp =>
        {
            var hub = new TrainingEventHub(sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptions<TrainingOptions>>().Value.Events);
            sp.GetRequiredService<TrainingMetrics>().Observe(hub);
            return hub;
        });
        services.TryAddSingleton<ITrainingEventPublisher>(sp => sp.GetRequiredService<TrainingEventHub>());
        services.TryAddSingleton(sp =>
        {
            // Resolved once here: an executor may price a run it observes while the host shuts down, after the provider
            // is disposed, and a lazy lookup would then throw ObjectDisposedException into that executor.
            var options = sp.GetRequiredService<IOptionsMonitor<TrainingOptions>>();
            return new TrainingCostCalculator(() => options.CurrentValue.Cost);
        });

        // Routing: executors by name, their health, starts with fallback, calls on existing runs.
        services.TryAddSingleton<ExecutorDirectory>();
        services.TryAddSingleton(sp => new ExecutorHealth(
            sp.GetRequiredService<ExecutorDirectory>(), sp.GetRequiredService<TimeProvider>(), sp.GetService<ILogger<ExecutorHealth>>()));
        services.TryAddSingleton(sp => new StartRouter(
            sp.GetRequiredService<ExecutorDirectory>(),
            sp.GetRequiredService<ExecutorHealth>(),
            sp.GetRequiredService<TrainingMetrics>(),
            sp.GetRequiredService<TrainingEventHub>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILogger<StartRouter>>()));
        services.TryAddSingleton(sp => new RunRouter(sp.GetRequiredService<ExecutorDirectory>(), sp.GetRequiredService<StartRouter>().Journal));
        services.TryAddSingleton(sp =>
        {
            var runs = sp.GetRequiredService<RunRouter>();
            return new RunCompletion(sp.GetRequiredService<TrainingEventHub>(), runs.GetStatusAsync, sp.GetRequiredService<TimeProvider>());
        });
        services.TryAddSingleton<ITrainingEventSource>(sp => new TrainingEventSource(sp.GetRequiredService<TrainingEventHub>(), sp.GetRequiredService<RunRouter>()));

        // The consumer API.
        services.TryAddSingleton(sp => new TrainingClient(
            sp.GetRequiredService<ExecutorDirectory>(),
            sp.GetRequiredService<ExecutorHealth>(),
            sp.GetRequiredService<StartRouter>(),
            sp.GetRequiredService<RunRouter>(),
            sp.GetRequiredService<RunCompletion>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ExecutorAvailabilityRefresher>());
        return builder;
    }
}
