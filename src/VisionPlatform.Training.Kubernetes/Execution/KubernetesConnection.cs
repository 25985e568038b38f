using k8s;
using k8s.Exceptions;
using k8s.KubeConfigModels;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Finds the cluster configuration once and creates the one client the executor uses (or takes the host's). Order, as
/// kubectl: explicit <c>Connection:Host</c>; explicit <c>Connection:KubeConfigPath</c> (that file only, like
/// <c>--kubeconfig</c>); the files of <c>KUBECONFIG</c>, merged (first file wins per cluster, user and context name, and
/// for current-context); <c>~/.kube/config</c>; the in-cluster service account. Unlike <c>BuildDefaultConfig()</c> it
/// never falls back to <c>http://localhost:8080</c>: when nothing is configured, or a configuration is broken, it keeps
/// the reason, naming what it looked at, so the executor can report it.
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
            ExecutorName = KubernetesExecutorInfo.ExecutorName,
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
        KubernetesConnectionOptions options, Func<string, string?> environment, string homeDirectory, Func<bool>? inCluster = null)
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
            var source = $"the kubeconfig file {options.KubeConfigPath} (Training:Kubernetes:Connection:KubeConfigPath)";
            return File.Exists(options.KubeConfigPath)
                ? FromFiles([options.KubeConfigPath], options.Context, source)
                : (null, source, $"The kubeconfig file {options.KubeConfigPath} (Training:Kubernetes:Connection:KubeConfigPath) does not exist.");
        }

        var lookedAt = new List<string> { "Training:Kubernetes:Connection:Host (unset)", "Training:Kubernetes:Connection:KubeConfigPath (unset)" };
        var kubeconfig = environment("KUBECONFIG");
        if (kubeconfig is not null)
        {
            // kubectl ignores empty entries and files that do not exist; the others are merged.
            var paths = kubeconfig.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
            if (paths.Length == 0)
            {
                return (null, "KUBECONFIG", "The KUBECONFIG environment variable is set but empty: unset it or point it at a kubeconfig file.");
            }

            var existing = paths.Where(File.Exists).ToArray();
            if (existing.Length > 0)
            {
                return FromFiles(existing, options.Context, existing.Length == paths.Length ? $"KUBECONFIG ({kubeconfig})" : $"KUBECONFIG ({string.Join(Path.PathSeparator, existing)}; missing: {string.Join(", ", paths.Except(existing))})");
            }

            lookedAt.Add($"KUBECONFIG ({kubeconfig}: no listed file exists)");
        }
        else
        {
            lookedAt.Add("KUBECONFIG (unset)");
            var home = string.IsNullOrEmpty(homeDirectory) ? null : Path.Combine(homeDirectory, ".kube", "config");
            if (home is not null && File.Exists(home))
            {
                return FromFiles([home], options.Context, $"the kubeconfig file {home}");
            }

            lookedAt.Add($"{home ?? "~/.kube/config"} (not found)");
        }

        if ((inCluster ?? KubernetesClientConfiguration.IsInCluster)())
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

        lookedAt.Add("the in-cluster service account (KUBERNETES_SERVICE_HOST/PORT or the token under /var/run/secrets/kubernetes.io/serviceaccount missing)");
        return (null, "nothing", $"No Kubernetes configuration was found. Looked at: {string.Join("; ", lookedAt)}. Set Training:Kubernetes:Connection:Host or Training:Kubernetes:Connection:KubeConfigPath, set KUBECONFIG, create ~/.kube/config, or run inside a cluster with a service account.");
    }

    /// <summary>
    /// Loads and merges kubeconfig files as kubectl does: the first file to set a value or a map key (a cluster, user or
    /// context name) wins, and later entries of the same name are discarded whole; current-context comes from the first
    /// file that sets one. Relative certificate and key paths are resolved against the file that names them.
    /// </summary>
    internal static K8SConfiguration Merge(IReadOnlyList<string> paths)
    {
        K8SConfiguration? merged = null;
        foreach (var path in paths)
        {
            var file = KubernetesClientConfiguration.LoadKubeConfig(new FileInfo(path), useRelativePaths: true);
            ResolveRelativePaths(file, Path.GetDirectoryName(Path.GetFullPath(path))!);
            if (merged is null)
            {
                merged = file;
                merged.Clusters = Distinct(file.Clusters, c => c.Name);
                merged.Users = Distinct(file.Users, u => u.Name);
                merged.Contexts = Distinct(file.Contexts, c => c.Name);
                continue;
            }

            merged.Clusters = AddNew(merged.Clusters, file.Clusters, c => c.Name);
            merged.Users = AddNew(merged.Users, file.Users, u => u.Name);
            merged.Contexts = AddNew(merged.Contexts, file.Contexts, c => c.Name);
            if (string.IsNullOrEmpty(merged.CurrentContext))
            {
                merged.CurrentContext = file.CurrentContext;
            }

            merged.Preferences ??= file.Preferences;
        }

        return merged ?? throw new ArgumentException("No kubeconfig file to load.", nameof(paths));
    }

    private static (KubernetesClientConfiguration? Config, string Source, string? Error) FromFiles(string[] paths, string? context, string source)
    {
        try
        {
            var merged = Merge(paths);
            var config = KubernetesClientConfiguration.BuildConfigFromConfigObject(merged, string.IsNullOrEmpty(context) ? null : context);
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

    private static void ResolveRelativePaths(K8SConfiguration file, string directory)
    {
        string? Resolve(string? path) =>
            string.IsNullOrEmpty(path) || Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(directory, path));

        foreach (var cluster in file.Clusters ?? [])
        {
            if (cluster.ClusterEndpoint is { } endpoint)
            {
                endpoint.CertificateAuthority = Resolve(endpoint.CertificateAuthority);
            }
        }

        foreach (var user in file.Users ?? [])
        {
            if (user.UserCredentials is { } credentials)
            {
                credentials.ClientCertificate = Resolve(credentials.ClientCertificate);
                credentials.ClientKey = Resolve(credentials.ClientKey);
            }
        }
    }

    private static List<T> Distinct<T>(IEnumerable<T>? items, Func<T, string?> name) => AddNew(new List<T>(), items, name);

    private static List<T> AddNew<T>(IEnumerable<T>? kept, IEnumerable<T>? more, Func<T, string?> name)
    {
        var result = kept as List<T> ?? [.. kept ?? []];
        var names = new HashSet<string?>(result.Select(name), StringComparer.Ordinal);
        foreach (var item in more ?? [])
        {
            if (names.Add(name(item)))
            {
                result.Add(item);
            }
        }

        return result;
    }
}
