using k8s;
using k8s.Exceptions;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Finds the cluster configuration once and creates the one client the executor uses. Order: explicit
/// <c>Connection:Host</c>, explicit <c>Connection:KubeConfigPath</c>, in-cluster service account, <c>KUBECONFIG</c>,
/// <c>~/.kube/config</c>. Unlike <c>BuildDefaultConfig()</c> it never falls back to <c>http://localhost:8080</c>:
/// when nothing is configured, or a configuration is broken, it keeps the reason so the executor can report it.
/// </summary>
internal sealed class KubernetesConnection : IDisposable
{
    private readonly Lazy<(IKubernetes? Client, string Source, string? Error)> _client;
    private readonly bool _ownsClient;

    public KubernetesConnection(IKubernetes client, string source)
    {
        _client = new Lazy<(IKubernetes?, string, string?)>((client, source, null));
        _ownsClient = false;
    }

    public KubernetesConnection(
        KubernetesConnectionOptions options,
        Func<DelegatingHandler>? handler = null,
        Func<string, string?>? environment = null,
        string? homeDirectory = null)
    {
        _ownsClient = true;
        _client = new Lazy<(IKubernetes?, string, string?)>(
            () => Create(options, handler, environment ?? Environment.GetEnvironmentVariable, homeDirectory ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile)),
            LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>Where the configuration came from, for messages (never contains credentials).</summary>
    public string Source => _client.Value.Source;

    /// <summary>Why no client could be created, or null.</summary>
    public string? Error => _client.Value.Error;

    /// <summary>Returns the client or throws <see cref="TrainingErrorCode.ExecutorUnavailable"/> with the reason.</summary>
    public IKubernetes GetClient() =>
        _client.Value.Client ?? throw new TrainingException(TrainingErrorCode.ExecutorUnavailable, _client.Value.Error!)
        {
            ExecutorName = TrainingExecutorNames.Kubernetes,
        };

    public void Dispose()
    {
        if (_ownsClient && _client.IsValueCreated && _client.Value.Client is IDisposable disposable)
        {
            disposable.Dispose();
        }
    }

    internal static (IKubernetes? Client, string Source, string? Error) Create(
        KubernetesConnectionOptions options, Func<DelegatingHandler>? handler, Func<string, string?> environment, string homeDirectory)
    {
        var (config, source, error) = Resolve(options, environment, homeDirectory);
        if (config is null)
        {
            return (null, source, error);
        }

        try
        {
            config.HttpClientTimeout = options.RequestTimeout;
            // Every call goes through the retry handler (Connection:Resilience); the executor passes one that shares its
            // clock and logger.
            var resilience = handler?.Invoke() ?? new KubernetesResilienceHandler(options.Resilience);
            return (new k8s.Kubernetes(config, resilience), source, null);
        }
        catch (Exception ex) when (ex is KubeConfigException or ArgumentException or UriFormatException or IOException or System.Security.Cryptography.CryptographicException)
        {
            return (null, source, $"The Kubernetes configuration from {source} cannot be used: {ex.Message}");
        }
    }

    internal static (KubernetesClientConfiguration? Config, string Source, string? Error) Resolve(
        KubernetesConnectionOptions options, Func<string, string?> environment, string homeDirectory)
    {
        if (!string.IsNullOrEmpty(options.Host))
        {
            const string source = "Training:Kubernetes:Connection:Host";
            return (new KubernetesClientConfiguration
            {
                Host = options.Host,
                AccessToken = string.IsNullOrEmpty(options.AccessToken) ? null : options.AccessToken,
                SkipTlsVerify = options.SkipTlsVerify,
            }, source, null);
        }

        if (!string.IsNullOrEmpty(options.KubeConfigPath))
        {
            return FromFiles([options.KubeConfigPath], options.Context, $"the kubeconfig file {options.KubeConfigPath} (Training:Kubernetes:Connection:KubeConfigPath)");
        }

        if (KubernetesClientConfiguration.IsInCluster())
        {
            try
            {
                return (KubernetesClientConfiguration.InClusterConfig(), "the in-cluster service account", null);
            }
            catch (KubeConfigException ex)
            {
                return (null, "the in-cluster service account", $"The in-cluster Kubernetes configuration cannot be loaded: {ex.Message}");
            }
        }

        var kubeconfig = environment("KUBECONFIG");
        if (kubeconfig is not null)
        {
            var paths = kubeconfig.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
            if (paths.Length == 0)
            {
                return (null, "KUBECONFIG", "The KUBECONFIG environment variable is set but empty: unset it or point it at a kubeconfig file.");
            }

            return FromFiles(paths, options.Context, $"KUBECONFIG ({kubeconfig})");
        }

        var home = string.IsNullOrEmpty(homeDirectory) ? null : Path.Combine(homeDirectory, ".kube", "config");
        if (home is not null && File.Exists(home))
        {
            return FromFiles([home], options.Context, $"the kubeconfig file {home}");
        }

        return (null, "nothing", "No Kubernetes configuration was found: set Training:Kubernetes:Connection:Host or Training:Kubernetes:Connection:KubeConfigPath, run inside a cluster with a service account, set KUBECONFIG, or create ~/.kube/config.");
    }

    private static (KubernetesClientConfiguration? Config, string Source, string? Error) FromFiles(string[] paths, string? context, string source)
    {
        var missing = paths.FirstOrDefault(p => !File.Exists(p));
        if (missing is not null)
        {
            return (null, source, $"The kubeconfig file {missing} from {source} does not exist.");
        }

        try
        {
            // KUBECONFIG may list several files. kubectl merges them; here the first file that has the requested
            // context (or, without one, sets a current context) is used, which covers the usual split set-ups.
            var loaded = paths.Select(p => KubernetesClientConfiguration.LoadKubeConfig(new FileInfo(p), useRelativePaths: true)).ToList();
            var chosen = loaded.FirstOrDefault(k => string.IsNullOrEmpty(context)
                    ? !string.IsNullOrEmpty(k.CurrentContext)
                    : k.Contexts?.Any(c => c.Name == context) == true)
                ?? loaded[0];
            var config = KubernetesClientConfiguration.BuildConfigFromConfigObject(chosen, string.IsNullOrEmpty(context) ? null : context);
            if (string.IsNullOrEmpty(config.Host))
            {
                return (null, source, $"The Kubernetes configuration from {source} names no API server (cluster.server is empty).");
            }

            return (config, source, null);
        }
        catch (Exception ex) when (ex is KubeConfigException or ArgumentException or IOException or FormatException or InvalidOperationException or NullReferenceException or YamlDotNet.Core.YamlException)
        {
            return (null, source, $"The Kubernetes configuration from {source} cannot be loaded: {ex.Message}");
        }
    }
}
