using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VisionPlatform.Training.Storage;
using VisionPlatform.Training.Subprocess;
using VisionPlatform.Training.Subprocess.Monitoring;
using VisionPlatform.Training.Trainers;

namespace VisionPlatform.Training;

/// <summary>
/// Adds the built-in subprocess executor (trainer processes on this host) to <c>AddTrainingExecutors</c>. It is opt-in:
/// a host that does not call <c>.AddSubprocess()</c> cannot spawn local processes.
/// </summary>
public static class SubprocessTrainingExecutorsBuilderExtensions
{
    /// <summary>
    /// Registers the subprocess executor under <c>subprocess</c>, with its options from the <c>Subprocess</c> child of
    /// the section given to <c>AddTrainingExecutors</c> (<c>Training:Subprocess</c>), and the hosted service that
    /// reattaches to runs an earlier host process started. Calling it twice is harmless.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddTrainingExecutors</c>.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ITrainingExecutorsBuilder AddSubprocess(this ITrainingExecutorsBuilder builder) => AddSubprocessCore(builder, configure: null);

    /// <summary>Registers the subprocess executor and configures its options in code (after configuration binding).</summary>
    /// <param name="builder">The builder returned by <c>AddTrainingExecutors</c>.</param>
    /// <param name="configure">Configures <see cref="TrainingOptions.Subprocess"/>.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ITrainingExecutorsBuilder AddSubprocess(this ITrainingExecutorsBuilder builder, Action<SubprocessExecutorOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return AddSubprocessCore(builder, configure);
    }

    private static ITrainingExecutorsBuilder AddSubprocessCore(ITrainingExecutorsBuilder builder, Action<SubprocessExecutorOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        if (configure is not null)
        {
            services.Configure<TrainingOptions>(o => configure(o.Subprocess));
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SubprocessRunRecovery>());
        var before = services.Count;
        builder.AddExecutor(TrainingExecutorNames.Subprocess, sp => new SubprocessTrainingExecutor(
            sp.GetRequiredService<IOptions<TrainingOptions>>(),
            sp.GetRequiredService<ITrainerContract>(),
            sp.GetService<TimeProvider>(),
            sp.GetService<ILogger<SubprocessTrainingExecutor>>(),
            sp.GetService<IArtifactStore>(),
            sp.GetService<ITrainingEventPublisher>(),
            sp.GetService<TrainingCostCalculator>()));
        if (services.Count > before)
        {
            // Start-up validation checks the trainer's files only while this executor is the one registered under
            // "subprocess": a test host that replaces it (AddInMemoryExecutor("subprocess")) needs no Python.
            var registered = services.Last(d => d.IsKeyedService && d.ServiceType == typeof(ITrainingExecutor) &&
                                                Equals(d.ServiceKey, TrainingExecutorNames.Subprocess));
            services.AddSingleton(new BuiltInSubprocessRegistration(() => services.Contains(registered)));
        }

        return builder;
    }
}

/// <summary>Whether the built-in subprocess executor is (still) the executor registered under <c>subprocess</c>.</summary>
/// <param name="IsRegistered">Evaluated when the options are validated, after every registration (test stand-ins included).</param>
internal sealed record BuiltInSubprocessRegistration(Func<bool> IsRegistered);
