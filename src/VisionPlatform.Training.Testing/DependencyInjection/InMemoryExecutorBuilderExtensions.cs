using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace VisionPlatform.Training.Testing;

/// <summary>Registers <see cref="InMemoryTrainingExecutor"/> in a test host.</summary>
public static class InMemoryExecutorBuilderExtensions
{
    /// <summary>
    /// Registers an in-memory executor under <paramref name="name"/>. In a test host:
    /// <code>
    /// services.AddTrainingExecutors(o => o.DefaultExecutor = "in-memory").AddInMemoryExecutor();
    /// </code>
    /// The executor uses the container's <see cref="TimeProvider"/> (register a <c>FakeTimeProvider</c> to control time).
    /// Several names may be registered, for example <c>"subprocess"</c> and <c>"kubernetes"</c> to test routing;
    /// registering a name twice keeps the first registration.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddTrainingExecutors</c>.</param>
    /// <param name="name">The executor's name, as used in <c>Training:DefaultExecutor</c> (default <c>in-memory</c>).</param>
    /// <param name="configure">Configures the executor's options, for example <see cref="InMemoryExecutorOptions.AutoComplete"/>.</param>
    /// <returns>The builder, for chaining.</returns>
    /// <exception cref="ArgumentException">An option is invalid; the message names it and the rule.</exception>
    public static ITrainingExecutorsBuilder AddInMemoryExecutor(
        this ITrainingExecutorsBuilder builder,
        string name = InMemoryTrainingExecutor.DefaultName,
        Action<InMemoryExecutorOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var options = new InMemoryExecutorOptions();
        configure?.Invoke(options);
        options.ThrowIfInvalid();
        options = options.Clone();

        InMemoryTrainingExecutor Create(IServiceProvider sp) =>
            new(name, options, sp.GetService<TimeProvider>(), sp.GetService<ILogger<InMemoryTrainingExecutor>>());

        var services = builder.Services;
        if (!services.Any(d => d.ServiceType == typeof(InMemoryTrainingExecutor)))
        {
            // The first in-memory executor is also resolvable by its type.
            return builder.AddExecutor(name, Create);
        }

        // AddExecutor maps every name of one executor type to a single instance; a second in-memory executor
        // needs its own instance under its own name, so it is registered by key only.
        if (services.Any(d => d.ServiceType == typeof(TrainingExecutorRegistration) &&
                              d.ImplementationInstance is TrainingExecutorRegistration r &&
                              string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase)))
        {
            return builder;
        }

        services.AddSingleton(new TrainingExecutorRegistration(name));
        services.AddKeyedSingleton<ITrainingExecutor>(name, (sp, _) => Create(sp));
        return builder;
    }

    /// <summary>Returns the in-memory executor registered under <paramref name="name"/>, to drive its runs from a test.</summary>
    /// <param name="services">The test host's service provider.</param>
    /// <param name="name">The name it was registered with (default <c>in-memory</c>).</param>
    /// <returns>The executor.</returns>
    /// <exception cref="InvalidOperationException">No executor has that name, or it is not an in-memory executor.</exception>
    public static InMemoryTrainingExecutor GetInMemoryExecutor(this IServiceProvider services, string name = InMemoryTrainingExecutor.DefaultName)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var executor = services.GetKeyedService<ITrainingExecutor>(name)
            ?? throw new InvalidOperationException($"No training executor named '{name}' is registered. Call .AddInMemoryExecutor(\"{name}\") on AddTrainingExecutors(...).");
        return executor as InMemoryTrainingExecutor
            ?? throw new InvalidOperationException($"The training executor named '{name}' is a {executor.GetType().Name}, not an InMemoryTrainingExecutor.");
    }
}
