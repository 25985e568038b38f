using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VisionPlatform.Training.Storage;

namespace VisionPlatform.Training;

/// <summary>Registers object storage for run artifacts on an <see cref="ITrainingExecutorsBuilder"/>.</summary>
public static class ArtifactStorageBuilderExtensions
{
    /// <summary>
    /// Registers <see cref="IArtifactStore"/> with options configured elsewhere (for example
    /// <c>services.Configure&lt;ArtifactStorageOptions&gt;(...)</c>). Options are validated at start-up.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddTrainingExecutors</c>.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ITrainingExecutorsBuilder AddArtifactStorage(this ITrainingExecutorsBuilder builder) =>
        AddArtifactStorageCore(builder, ArtifactStorageOptions.SectionName, configure: null);

    /// <summary>Registers <see cref="IArtifactStore"/> and configures its options in code.</summary>
    /// <param name="builder">The builder returned by <c>AddTrainingExecutors</c>.</param>
    /// <param name="configure">Configures the options.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ITrainingExecutorsBuilder AddArtifactStorage(this ITrainingExecutorsBuilder builder, Action<ArtifactStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return AddArtifactStorageCore(builder, ArtifactStorageOptions.SectionName, o => o.Configure(configure));
    }

    /// <summary>
    /// Registers <see cref="IArtifactStore"/> and binds its options from configuration, usually
    /// <c>configuration.GetSection("Training:Storage")</c>; validation messages use that section's path.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddTrainingExecutors</c>.</param>
    /// <param name="configuration">The configuration section.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ITrainingExecutorsBuilder AddArtifactStorage(this ITrainingExecutorsBuilder builder, IConfigurationSection configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return AddArtifactStorageCore(builder, configuration.Path, o => o.Bind(configuration));
    }

    private static ITrainingExecutorsBuilder AddArtifactStorageCore(
        ITrainingExecutorsBuilder builder,
        string sectionPath,
        Action<OptionsBuilder<ArtifactStorageOptions>>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = services.AddOptions<ArtifactStorageOptions>();
        configure?.Invoke(options);

        if (services.Any(d => d.ServiceType == typeof(IArtifactStore)))
        {
            // Second call: only the extra configuration above applies.
            return builder;
        }

        options.ValidateOnStart();
        services.AddSingleton<IValidateOptions<ArtifactStorageOptions>>(new ArtifactStorageOptionsValidator(sectionPath));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new S3ArtifactStore(
            sp.GetRequiredService<IOptions<ArtifactStorageOptions>>(),
            sp.GetService<ILogger<S3ArtifactStore>>() ?? NullLogger<S3ArtifactStore>.Instance,
            sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<IArtifactStore>(sp => sp.GetRequiredService<S3ArtifactStore>());
        return builder;
    }
}
