using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
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
    /// <para>
    /// When a real executor is already registered under <paramref name="name"/> (for example <c>subprocess</c>, which
    /// <c>.AddSubprocess()</c> registers, or <c>kubernetes</c>), the in-memory executor stands in for it: the host's
    /// configuration stays as in production, handles look the same, and no process or cluster is touched.
    /// Registering the same in-memory name twice keeps the first registration. Several names may be registered,
    /// each with its own executor, to test routing.
    /// </para>
    /// The executor uses the container's <see cref="TimeProvider"/> (register a <c>FakeTimeProvider</c> to control time)
    /// and publishes its runs' phase changes, progress and log lines to the container's <see cref="ITrainingEventSource"/>.
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

        var services = builder.Services;
        if (services.Any(d => d.ImplementationInstance is InMemoryExecutorRegistration r && SameName(r.Name, name)))
        {
            return builder;
        }

        services.AddSingleton(new InMemoryExecutorRegistration(name));
        var existing = services
            .Select(d => d.ImplementationInstance)
            .OfType<TrainingExecutorRegistration>()
            .FirstOrDefault(r => SameName(r.Name, name));

        if (existing is null && !services.Any(d => d.ServiceType == typeof(InMemoryTrainingExecutor)))
        {
            // The common case: a new name, and the first in-memory executor, which is also resolvable by its type.
            return builder.AddExecutor(name, sp => Create(sp, name, options));
        }

        // AddExecutor keeps the first registration of a name and maps every name of one executor type to a single
        // instance, so a stand-in for a real executor, or a second in-memory executor, is registered by key here.
        var key = existing?.Name ?? name;
        if (existing is null)
        {
            services.AddSingleton(new TrainingExecutorRegistration(name));
        }
        else
        {
            foreach (var descriptor in services.Where(d => d.IsKeyedService && d.ServiceType == typeof(ITrainingExecutor) && d.ServiceKey is string k && SameName(k, key)).ToArray())
            {
                services.Remove(descriptor);
            }
        }

        services.AddKeyedSingleton<ITrainingExecutor>(key, (sp, _) => Create(sp, key, options));
        services.TryAddSingleton(sp => (InMemoryTrainingExecutor)sp.GetRequiredKeyedService<ITrainingExecutor>(key));
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
        var registered = services.GetServices<TrainingExecutorRegistration>().FirstOrDefault(r => SameName(r.Name, name))
            ?? throw new InvalidOperationException($"No training executor named '{name}' is registered. Call .AddInMemoryExecutor(\"{name}\") on AddTrainingExecutors(...).");
        var executor = services.GetRequiredKeyedService<ITrainingExecutor>(registered.Name);
        return executor as InMemoryTrainingExecutor
            ?? throw new InvalidOperationException($"The training executor named '{name}' is a {executor.GetType().Name}, not an InMemoryTrainingExecutor. Call .AddInMemoryExecutor(\"{name}\") to replace it with the in-memory executor.");
    }

    private static InMemoryTrainingExecutor Create(IServiceProvider sp, string name, InMemoryExecutorOptions options) =>
        // The host's event publisher and price table, so subscribers and cost work as with the real executors.
        new(name, options, sp.GetService<TimeProvider>(), sp.GetService<ILogger<InMemoryTrainingExecutor>>(), sp.GetService<ITrainingEventPublisher>(), sp.GetService<TrainingCostCalculator>());

    private static bool SameName(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

    /// <summary>Marks a name as registered by <see cref="AddInMemoryExecutor"/>, so a second call with it is harmless.</summary>
    private sealed record InMemoryExecutorRegistration(string Name);
}
