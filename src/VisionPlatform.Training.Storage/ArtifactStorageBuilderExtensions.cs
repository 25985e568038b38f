using Amazon.S3;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VisionPlatform.Training.Storage;

namespace VisionPlatform.Training;

/// <summary>
/// Registers object storage for run artifacts (<see cref="IArtifactStore"/>, implemented by <see cref="S3ArtifactStore"/>)
/// on an <see cref="ITrainingExecutorsBuilder"/>. Also registers the store's <see cref="ArtifactStorageConnection"/>, which
/// executor packages read to hand the bucket's endpoint and credentials to trainers that upload by themselves.
/// </summary>
public static class ArtifactStorageBuilderExtensions
{
    /// <summary>
    /// Registers <see cref="IArtifactStore"/> with options configured elsewhere (for example
    /// <c>services.Configure&lt;ArtifactStorageOptions&gt;(...)</c>). Options are validated at start-up.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddTrainingExecutors</c>.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ITrainingExecutorsBuilder AddArtifactStorage(this ITrainingExecutorsBuilder builder) =>
        AddArtifactStorageCore(builder, ArtifactStorageOptions.SectionName, configure: null, clientFactory: null);

    /// <summary>Registers <see cref="IArtifactStore"/> and configures its options in code.</summary>
    /// <param name="builder">The builder returned by <c>AddTrainingExecutors</c>.</param>
    /// <param name="configure">Configures the options.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ITrainingExecutorsBuilder AddArtifactStorage(this ITrainingExecutorsBuilder builder, Action<ArtifactStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return AddArtifactStorageCore(builder, ArtifactStorageOptions.SectionName, o => o.Configure(configure), clientFactory: null);
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
        return AddArtifactStorageCore(builder, configuration.Path, o => o.Bind(configuration), clientFactory: null);
    }

    /// <summary>
    /// Registers <see cref="IArtifactStore"/> over an S3 client the host supplies (IRSA, pod identity, custom handlers or
    /// credentials), with options configured elsewhere. See <see cref="AddArtifactStorage(ITrainingExecutorsBuilder, IConfigurationSection, Func{IServiceProvider, IAmazonS3})"/>.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddTrainingExecutors</c>.</param>
    /// <param name="clientFactory">Returns the client; called once, when the store is first resolved. The store never disposes it.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ITrainingExecutorsBuilder AddArtifactStorage(this ITrainingExecutorsBuilder builder, Func<IServiceProvider, IAmazonS3> clientFactory)
    {
        ArgumentNullException.ThrowIfNull(clientFactory);
        return AddArtifactStorageCore(builder, ArtifactStorageOptions.SectionName, configure: null, clientFactory);
    }

    /// <summary>
    /// Registers <see cref="IArtifactStore"/> over an S3 client the host supplies, and configures its options in code.
    /// See <see cref="AddArtifactStorage(ITrainingExecutorsBuilder, IConfigurationSection, Func{IServiceProvider, IAmazonS3})"/>.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddTrainingExecutors</c>.</param>
    /// <param name="configure">Configures the options.</param>
    /// <param name="clientFactory">Returns the client; called once, when the store is first resolved. The store never disposes it.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ITrainingExecutorsBuilder AddArtifactStorage(
        this ITrainingExecutorsBuilder builder,
        Action<ArtifactStorageOptions> configure,
        Func<IServiceProvider, IAmazonS3> clientFactory)
    {
        ArgumentNullException.ThrowIfNull(configure);
        ArgumentNullException.ThrowIfNull(clientFactory);
        return AddArtifactStorageCore(builder, ArtifactStorageOptions.SectionName, o => o.Configure(configure), clientFactory);
    }

    /// <summary>
    /// Registers <see cref="IArtifactStore"/> over an S3 client the host supplies (IRSA, pod identity, custom handlers or
    /// credentials), and binds its options from configuration. The store uses the client as it is and never disposes it
    /// (register the client in DI and return it from the factory to have the container dispose it). Only the options
    /// that do not configure a client apply: <c>Bucket</c>, <c>Prefix</c>, multipart, concurrency, retries,
    /// <c>VerifyETags</c> and <c>UseChunkEncoding</c>; endpoint, region, credentials, checksums and the request timeout are
    /// the client's. Set the client's <c>MaxErrorRetry</c> to 0 so that its retries do not multiply with the store's.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddTrainingExecutors</c>.</param>
    /// <param name="configuration">The configuration section.</param>
    /// <param name="clientFactory">Returns the client; called once, when the store is first resolved. The store never disposes it.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ITrainingExecutorsBuilder AddArtifactStorage(
        this ITrainingExecutorsBuilder builder,
        IConfigurationSection configuration,
        Func<IServiceProvider, IAmazonS3> clientFactory)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(clientFactory);
        return AddArtifactStorageCore(builder, configuration.Path, o => o.Bind(configuration), clientFactory);
    }

    private static ITrainingExecutorsBuilder AddArtifactStorageCore(
        ITrainingExecutorsBuilder builder,
        string sectionPath,
        Action<OptionsBuilder<ArtifactStorageOptions>>? configure,
        Func<IServiceProvider, IAmazonS3>? clientFactory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = services.AddOptions<ArtifactStorageOptions>();
        configure?.Invoke(options);
        if (clientFactory is not null)
        {
            // The latest call that names a client wins, also on a second call.
            services.Replace(ServiceDescriptor.Singleton(new HostS3ClientFactory(clientFactory)));
        }

        if (services.Any(d => d.ServiceType == typeof(IArtifactStore)))
        {
            // Second call: only the extra configuration above applies.
            return builder;
        }

        options.ValidateOnStart();
        services.AddSingleton<IValidateOptions<ArtifactStorageOptions>>(new ArtifactStorageOptionsValidator(sectionPath));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(CreateStore);
        services.TryAddSingleton<IArtifactStore>(sp => sp.GetRequiredService<S3ArtifactStore>());
        services.TryAddSingleton<IRunLogArchive>(sp => sp.GetRequiredService<S3ArtifactStore>());
        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<ArtifactStorageOptions>>().Value.ToConnection());
        return builder;
    }

    private static S3ArtifactStore CreateStore(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<ArtifactStorageOptions>>();
        var logger = services.GetService<ILogger<S3ArtifactStore>>() ?? NullLogger<S3ArtifactStore>.Instance;
        var time = services.GetRequiredService<TimeProvider>();
        if (services.GetService<HostS3ClientFactory>() is not { } host)
        {
            return new S3ArtifactStore(options, logger, time);
        }

        var client = host.Create(services) ?? throw new InvalidOperationException(
            "The IAmazonS3 factory passed to AddArtifactStorage returned null: return the S3 client the artifact store should use.");
        return new S3ArtifactStore(options.Value, client, logger, time);
    }

    /// <summary>The host's S3 client factory, when one was given.</summary>
    private sealed class HostS3ClientFactory(Func<IServiceProvider, IAmazonS3> create)
    {
        public IAmazonS3 Create(IServiceProvider services) => create(services);
    }
}
