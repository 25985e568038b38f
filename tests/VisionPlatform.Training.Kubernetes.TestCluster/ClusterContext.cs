using Microsoft.Extensions.Logging;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster;

/// <summary>What every cluster component shares: the store, a data directory, the options and the clock.</summary>
public sealed class ClusterContext
{
    /// <summary>Creates a context.</summary>
    public ClusterContext(ClusterStore store, string dataDirectory, KubernetesTestClusterOptions options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        Store = store ?? throw new ArgumentNullException(nameof(store));
        DataDirectory = dataDirectory ?? throw new ArgumentNullException(nameof(dataDirectory));
        Options = options;
        Time = options.TimeProvider;
        LoggerFactory = loggerFactory ?? throw new ArgumentNullException(nameof(loggerFactory));
        Admission = new Admission.AdmissionChain(store, Time);
    }

    /// <summary>The admission plugins every pod and Job create goes through, from the API and from controllers.</summary>
    internal Admission.AdmissionChain Admission { get; }

    /// <summary>The cluster's storage (objects, resourceVersions, watches).</summary>
    public ClusterStore Store { get; }

    /// <summary>A temporary directory owned by this cluster, deleted when it is disposed.</summary>
    public string DataDirectory { get; }

    /// <summary>The directory that holds container logs: <c>logs/&lt;ns&gt;/&lt;pod&gt;/&lt;container&gt;.log</c>.</summary>
    public string LogDirectory => Path.Combine(DataDirectory, "logs");

    /// <summary>The options the cluster was started with.</summary>
    public KubernetesTestClusterOptions Options { get; }

    /// <summary>The clock every component uses.</summary>
    public TimeProvider Time { get; }

    /// <summary>Logging for components (a null logger factory unless the options supply one).</summary>
    public ILoggerFactory LoggerFactory { get; }

    /// <summary>Where the node agent writes, and pods/log reads, one container's log.</summary>
    public string ContainerLogPath(string ns, string podName, string containerName) =>
        Path.Combine(LogDirectory, ns, podName, containerName + ".log");
}
