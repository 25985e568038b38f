using System.Collections.Concurrent;
using k8s;
using Microsoft.Extensions.Logging;
using VisionPlatform.Training.Kubernetes.TestCluster;
using VisionPlatform.Training.Kubernetes.TestCluster.Api;

namespace VisionPlatform.Training.Kubernetes.Tests.ClusterSetup;

/// <summary>
/// A test cluster (API server only, no training namespace) and a <see cref="KubernetesClusterSetup"/> that connects to it
/// the way a host configures it (<c>Connection:Host</c>, with the retry handler), plus a plain client to look and tamper.
/// </summary>
internal sealed class SetupHarness : IAsyncDisposable
{
    public const string SecretKeyValue = "s3cr3t-Value-That-Must-Never-Leak";
    public const string AccessKeyValue = "AKIA-access-key-value-0001";

    private SetupHarness(KubernetesTestCluster cluster, KubernetesExecutorOptions executorOptions)
    {
        Cluster = cluster;
        Client = cluster.CreateClient();
        ExecutorOptions = executorOptions;
        Setup = new KubernetesClusterSetup(executorOptions, Options(), logger: Logger);
    }

    public KubernetesTestCluster Cluster { get; }

    public IKubernetes Client { get; }

    public KubernetesExecutorOptions ExecutorOptions { get; }

    public RecordingLogger<KubernetesClusterSetup> Logger { get; } = new();

    public KubernetesClusterSetup Setup { get; }

    public static async Task<SetupHarness> StartAsync(Action<KubernetesTestClusterOptions>? cluster = null)
    {
        var clusterOptions = new KubernetesTestClusterOptions();
        clusterOptions.Components.Clear();
        cluster?.Invoke(clusterOptions);
        var started = await KubernetesTestCluster.StartAsync(clusterOptions);
        var executor = new KubernetesExecutorOptions();
        executor.Connection.Host = started.Url.ToString().TrimEnd('/');
        return new SetupHarness(started, executor);
    }

    /// <summary>Every object enabled: Secret and ConfigMap values, a backend service account, the NetworkPolicy.</summary>
    public static ClusterSetupOptions Options(Action<ClusterSetupOptions>? configure = null)
    {
        var options = new ClusterSetupOptions
        {
            Backend = new ClusterSetupSubjectOptions { Kind = "ServiceAccount", Name = "backend", Namespace = "platform" },
            NetworkPolicy = new ClusterSetupNetworkPolicyOptions { Enabled = true },
        };
        options.SecretData["endpoint"] = "https://account.r2.cloudflarestorage.com";
        options.SecretData["access-key"] = AccessKeyValue;
        options.SecretData["secret-key"] = SecretKeyValue;
        options.ConfigMapData["api-url"] = "http://backend.platform.svc:8000";
        configure?.Invoke(options);
        return options;
    }

    /// <summary>Requests that change something: the check and a no-op ensure must make none.</summary>
    public IReadOnlyList<RequestLogEntry> Writes() =>
        Cluster.Requests.Entries.Where(e => e.Verb is "create" or "update" or "patch" or "delete" or "deletecollection").ToList();

    public async ValueTask DisposeAsync()
    {
        Setup.Dispose();
        Client.Dispose();
        await Cluster.DisposeAsync();
    }
}

/// <summary>Keeps every formatted log message (and exception text) so tests can look for leaked values.</summary>
internal sealed class RecordingLogger<T> : ILogger<T>
{
    private readonly ConcurrentQueue<(LogLevel Level, EventId Id, string Text)> _entries = new();

    public IReadOnlyList<(LogLevel Level, EventId Id, string Text)> Entries => [.. _entries];

    public string AllText => string.Join("\n", _entries.Select(e => e.Text));

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _entries.Enqueue((logLevel, eventId, formatter(state, exception) + (exception is null ? "" : "\n" + exception)));
}
