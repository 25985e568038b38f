using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace VisionPlatform.Training;

/// <summary>Registers executors on an <see cref="ITrainingExecutorsBuilder"/>.</summary>
public static class TrainingExecutorsBuilderExtensions
{
    /// <summary>
    /// Registers an executor under a name. Registering the same name twice keeps the first registration,
    /// so calling a package's <c>Add*</c> method twice is harmless.
    /// </summary>
    /// <typeparam name="TExecutor">The executor type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The executor's name, as used in <c>Training:DefaultExecutor</c>.</param>
    /// <param name="factory">Creates the executor (once, as a singleton).</param>
    /// <returns>The builder, for chaining.</returns>
    public static ITrainingExecutorsBuilder AddExecutor<TExecutor>(
        this ITrainingExecutorsBuilder builder,
        string name,
        Func<IServiceProvider, TExecutor> factory)
        where TExecutor : class, ITrainingExecutor
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);

        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(TrainingExecutorRegistration) &&
                              d.ImplementationInstance is TrainingExecutorRegistration r &&
                              string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase)))
        {
            return builder;
        }

        services.AddSingleton(new TrainingExecutorRegistration(name));

        // One instance per name (two executors of the same type under different names stay separate); the concrete
        // type resolves to the first one registered.
        services.AddKeyedSingleton<TExecutor>(name, (sp, _) => factory(sp));
        services.AddKeyedSingleton<ITrainingExecutor>(name, (sp, key) => sp.GetRequiredKeyedService<TExecutor>(key));
        services.TryAddSingleton(sp => sp.GetRequiredKeyedService<TExecutor>(name));
        return builder;
    }
}
