using System.Globalization;
using System.Text;
using k8s;
using Microsoft.Extensions.Logging.Abstractions;
using VisionPlatform.Training.Kubernetes.TestCluster.Api;
using VisionPlatform.Training.Kubernetes.TestCluster.Faults;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster;

/// <summary>
/// A Kubernetes cluster for tests: a kube-apiserver over real HTTP on 127.0.0.1 backed by an in-memory store,
/// plus the components in <see cref="KubernetesTestClusterOptions.Components"/> (Job controller, garbage collector,
/// scheduler, node agent). Point a plain KubernetesClient at <see cref="Url"/>. Dispose to stop everything and
/// delete the data directory.
/// </summary>
public sealed class KubernetesTestCluster : IAsyncDisposable
{
    /// <summary>Namespaces every cluster has, as a fresh real cluster does.</summary>
    public static readonly IReadOnlyList<string> SystemNamespaces = ["default", "kube-system", "kube-public", "kube-node-lease"];

    private readonly ApiServerHost _host;
    private readonly List<IClusterComponent> _components = [];
    private int _disposed;

    private KubernetesTestCluster(ClusterContext context, ApiServerHost host, ApiServer server)
    {
        Context = context;
        _host = host;
        Faults = server.Faults;
        Requests = server.Requests;
    }

    /// <summary>The API server's base address, e.g. <c>http://127.0.0.1:40123</c>.</summary>
    public Uri Url => _host.Url;

    /// <summary>The cluster's storage.</summary>
    public ClusterStore Store => Context.Store;

    /// <summary>What the components share (store, data directory, options, clock).</summary>
    public ClusterContext Context { get; }

    /// <summary>HTTP fault injection.</summary>
    public HttpFaults Faults { get; }

    /// <summary>Workload fault injection: unpullable images, nodes, OOM kills, pod disruptions.</summary>
    public Workloads.WorkloadFaults Workloads => TestCluster.Workloads.WorkloadFaults.For(Context);

    /// <summary>Every request the API server answered.</summary>
    public RequestLog Requests { get; }

    /// <summary>Starts a cluster: the API server first, then every component, in order.</summary>
    public static async Task<KubernetesTestCluster> StartAsync(KubernetesTestClusterOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new KubernetesTestClusterOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(options.Port, "options.Port");
        ArgumentOutOfRangeException.ThrowIfLessThan(options.WatchHistorySize, 1, "options.WatchHistorySize");

        var dataDirectory = Path.Combine(Path.GetTempPath(), "vp-test-cluster-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dataDirectory);
        var store = new ClusterStore(options.TimeProvider, options.WatchHistorySize);
        foreach (var ns in SystemNamespaces.Concat(options.Namespaces).Distinct(StringComparer.Ordinal))
        {
            store.Create(ResourceType.Namespaces, null, NewNamespace(ns));
        }

        var context = new ClusterContext(store, dataDirectory, options, options.LoggerFactory ?? NullLoggerFactory.Instance);
        ApiServerHost? host = null;
        var server = new ApiServer(context, () => host!);
        host = new ApiServerHost(server.HandleAsync, options.LoggerFactory);
        var cluster = new KubernetesTestCluster(context, host, server);
        try
        {
            await host.StartAsync(options.Port, cancellationToken).ConfigureAwait(false);
            foreach (var factory in options.Components)
            {
                var component = factory();
                cluster._components.Add(component);
                await component.StartAsync(context, cancellationToken).ConfigureAwait(false);
            }

            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>A client configuration for this cluster (no authentication).</summary>
    public KubernetesClientConfiguration CreateClientConfiguration() =>
        new() { Host = Url.ToString().TrimEnd('/'), Namespace = "default" };

    /// <summary>A KubernetesClient for this cluster; the caller disposes it.</summary>
    public IKubernetes CreateClient() => new k8s.Kubernetes(CreateClientConfiguration());

    /// <summary>Writes a kubeconfig for this cluster under the data directory and returns its path.</summary>
    public string WriteKubeconfig()
    {
        var path = Path.Combine(Context.DataDirectory, "kubeconfig");
        var server = Url.ToString().TrimEnd('/');
        var text = new StringBuilder()
            .AppendLine("apiVersion: v1")
            .AppendLine("kind: Config")
            .AppendLine("clusters:")
            .AppendLine("- name: test-cluster")
            .AppendLine("  cluster:")
            .AppendLine(CultureInfo.InvariantCulture, $"    server: {server}")
            .AppendLine("contexts:")
            .AppendLine("- name: test-cluster")
            .AppendLine("  context:")
            .AppendLine("    cluster: test-cluster")
            .AppendLine("    user: test-user")
            .AppendLine("    namespace: default")
            .AppendLine("current-context: test-cluster")
            .AppendLine("users:")
            .AppendLine("- name: test-user")
            .AppendLine("  user:")
            .AppendLine("    token: test-token")
            .ToString();
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Stops the components (last started first), the API server, and deletes the data directory.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        List<Exception> errors = [];
        for (var i = _components.Count - 1; i >= 0; i--)
        {
            try
            {
                await _components[i].DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                errors.Add(ex);
            }
        }

        Faults.DropWatches();
        await _host.DisposeAsync().ConfigureAwait(false);
        DeleteDirectory(Context.DataDirectory);
        if (errors.Count > 0)
        {
            throw new AggregateException("stopping the test cluster's components failed", errors);
        }
    }

    private static System.Text.Json.Nodes.JsonObject NewNamespace(string name) => new()
    {
        ["metadata"] = new System.Text.Json.Nodes.JsonObject
        {
            ["name"] = name,
            ["labels"] = new System.Text.Json.Nodes.JsonObject { ["kubernetes.io/metadata.name"] = name },
        },
        ["spec"] = new System.Text.Json.Nodes.JsonObject { ["finalizers"] = new System.Text.Json.Nodes.JsonArray("kubernetes") },
        ["status"] = new System.Text.Json.Nodes.JsonObject { ["phase"] = "Active" },
    };

    private static void DeleteDirectory(string path)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            try
            {
                if (Directory.Exists(path))
                {
                    Directory.Delete(path, recursive: true);
                }

                return;
            }
            catch (IOException) when (attempt < 4)
            {
                Thread.Sleep(100);
            }
            catch (UnauthorizedAccessException) when (attempt < 4)
            {
                Thread.Sleep(100);
            }
        }
    }
}
