using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VisionPlatform.Training.Diagnostics;

namespace VisionPlatform.Training.Samples.RemoteExecutor;

/// <summary>Registers <see cref="RemoteTrainingExecutor"/> on the builder <c>AddTrainingExecutors</c> returns.</summary>
public static class RemoteExecutorBuilderExtensions
{
    /// <summary>The name <see cref="AddRemoteExecutor(ITrainingExecutorsBuilder, IConfigurationSection, string, Action{RemoteExecutorOptions}?)"/> registers by default.</summary>
    public const string DefaultName = "remote";

    /// <summary>
    /// Registers the remote executor under <paramref name="name"/>, with its options bound from <paramref name="configuration"/>
    /// (for example <c>Training:Remote</c>) and validated at start-up, each problem naming its key
    /// (<c>Training:Remote:ServiceUrl is required ...</c>):
    /// <code>
    /// services.AddTrainingExecutors(configuration.GetSection("Training"))
    ///     .AddSubprocess()
    ///     .AddRemoteExecutor(configuration.GetSection("Training:Remote"));
    /// </code>
    /// The executor takes the host's <see cref="ITrainingEventPublisher"/>, <see cref="TrainingCostCalculator"/>,
    /// <see cref="TrainingMetrics"/> and <see cref="TimeProvider"/>, and a hosted service starts its monitor with the host.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddTrainingExecutors</c>.</param>
    /// <param name="configuration">The executor's configuration section.</param>
    /// <param name="name">The executor's name, as used in <c>Training:DefaultExecutor</c>, <c>Training:Fallback:Executors</c> and <c>Training:Cost:Executors</c>.</param>
    /// <param name="configure">Configures the options in code, after binding.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ITrainingExecutorsBuilder AddRemoteExecutor(
        this ITrainingExecutorsBuilder builder,
        IConfigurationSection configuration,
        string name = DefaultName,
        Action<RemoteExecutorOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);

        var options = builder.Services.AddOptions<RemoteExecutorOptions>(name).Bind(configuration);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<RemoteExecutorOptions>>(new RemoteExecutorOptionsValidator(name, configuration.Path));
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, RemoteExecutorMonitorService>());
        builder.Services.AddSingleton(new RemoteExecutorRegistration(name));
        return builder.AddExecutor(name, sp => new RemoteTrainingExecutor(
            name,
            sp.GetRequiredService<IOptionsMonitor<RemoteExecutorOptions>>().Get(name),
            sp.GetService<TimeProvider>(),
            sp.GetService<ILogger<RemoteTrainingExecutor>>(),
            sp.GetService<ITrainingEventPublisher>(),
            sp.GetService<TrainingCostCalculator>(),
            sp.GetService<TrainingMetrics>()));
    }

    /// <summary>Names registered by <c>AddRemoteExecutor</c>, so the hosted service can start each executor's monitor.</summary>
    internal sealed record RemoteExecutorRegistration(string Name);

    /// <summary>Starts every remote executor's monitor with the host, so a restarted host publishes its runs without waiting for a call.</summary>
    private sealed class RemoteExecutorMonitorService(IServiceProvider services) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            foreach (var registration in services.GetServices<RemoteExecutorRegistration>())
            {
                if (services.GetKeyedService<ITrainingExecutor>(registration.Name) is RemoteTrainingExecutor executor)
                {
                    executor.StartMonitoring();
                }
            }

            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
