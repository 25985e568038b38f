using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VisionPlatform.Training;
using VisionPlatform.Training.Diagnostics;
using VisionPlatform.Training.Routing;
using VisionPlatform.Training.Storage;
using VisionPlatform.Training.Subprocess;
using VisionPlatform.Training.Subprocess.Monitoring;
using VisionPlatform.Training.Trainers;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the training SDK in a host's service collection.</summary>
public static class TrainingServiceCollectionExtensions
{
    /// <summary>Registers the training executors with default options.</summary>
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
        if (services.Any(d => d.ServiceType == typeof(TrainingExecutorManager)))
        {
            // Second call: only the extra configuration above applies.
            return builder;
        }

        options.ValidateOnStart();
        services.AddSingleton<IValidateOptions<TrainingOptions>>(new TrainingOptionsValidator(sectionPath));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ITrainerContract>(sp =>
            sp.GetRequiredService<IOptions<TrainingOptions>>().Value.Trainer.Contract == JsonConfigTrainerContract.ContractName
                ? new JsonConfigTrainerContract()
                : new FlagTrainerContract());
        services.TryAddSingleton(sp => new TrainingMetrics(sp.GetService<IMeterFactory>(), sp.GetService<TimeProvider>()));
        services.TryAddSingleton(sp =>
        {
            var hub = new TrainingEventHub(sp.GetRequiredService<TimeProvider>(), () => sp.GetService<ITrainingExecutor>());
            sp.GetRequiredService<TrainingMetrics>().Observe(hub);
            return hub;
        });
        services.TryAddSingleton<ITrainingEventSource>(sp => sp.GetRequiredService<TrainingEventHub>());
        services.TryAddSingleton(sp => new TrainingCostCalculator(() => sp.GetRequiredService<IOptionsMonitor<TrainingOptions>>().CurrentValue.Cost));
        services.TryAddSingleton<TrainingExecutorManager>();
        services.TryAddSingleton<ITrainingExecutor>(sp => sp.GetRequiredService<TrainingExecutorManager>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ExecutorAvailabilityRefresher>());
        AddBuiltInSubprocessExecutor(services);
        return builder;
    }

    /// <summary>
    /// The built-in subprocess executor, the default behind <see cref="ITrainingExecutor"/>. It is registered so that an
    /// explicit <c>.AddExecutor("subprocess", ...)</c> (a test double or a custom implementation) replaces it: its name
    /// record is created by a factory, which the duplicate-name check of <c>AddExecutor</c> does not see, and the last
    /// keyed registration of a name is the one resolved.
    /// </summary>
    private static void AddBuiltInSubprocessExecutor(IServiceCollection services)
    {
        services.TryAddSingleton(sp => new SubprocessTrainingExecutor(
            sp.GetRequiredService<IOptions<TrainingOptions>>(),
            sp.GetRequiredService<ITrainerContract>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILogger<SubprocessTrainingExecutor>>(),
            sp.GetService<IArtifactStore>(),
            sp.GetService<TrainingEventHub>(),
            sp.GetService<TrainingCostCalculator>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SubprocessRunRecovery>());
        services.AddSingleton(_ => new TrainingExecutorRegistration(TrainingExecutorNames.Subprocess));
        services.AddKeyedSingleton<ITrainingExecutor>(TrainingExecutorNames.Subprocess, (sp, _) => sp.GetRequiredService<SubprocessTrainingExecutor>());
    }
}
