using Microsoft.Extensions.Logging;
using VisionPlatform.Training.Kubernetes.TestCluster.Api;

namespace VisionPlatform.Training.Kubernetes.TestCluster;

/// <summary>How a <see cref="KubernetesTestCluster"/> is started.</summary>
public sealed class KubernetesTestClusterOptions
{
    /// <summary>Loopback port for the API server; 0 picks a free one.</summary>
    public int Port { get; set; }

    /// <summary>
    /// Components started after the API server, in order (controllers, scheduler, node agent).
    /// Starts as <see cref="DefaultClusterComponents.Create"/>; clear it for an API server with nothing behind it.
    /// </summary>
    public IList<Func<IClusterComponent>> Components { get; } = DefaultClusterComponents.Create();

    /// <summary>Namespaces that exist at start, besides default, kube-system, kube-public and kube-node-lease.</summary>
    public IList<string> Namespaces { get; } = [];

    /// <summary>How many events per resource type a watch can replay before older resourceVersions get 410.</summary>
    public int WatchHistorySize { get; set; } = 10_000;

    /// <summary>How often a watch with <c>allowWatchBookmarks=true</c> gets a BOOKMARK (the real server: about a minute).</summary>
    public TimeSpan WatchBookmarkInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a watch without <c>timeoutSeconds</c> stays open (the real server: 30 to 60 minutes).</summary>
    public TimeSpan DefaultWatchTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// Who may do what, answered by SelfSubjectAccessReview and enforced on requests (403 Forbidden).
    /// Null (the default) allows everything.
    /// </summary>
    public AccessPolicy? AccessPolicy { get; set; }

    /// <summary>The user name the API server reports in 403 messages.</summary>
    public string UserName { get; set; } = "system:serviceaccount:default:test-client";

    /// <summary>
    /// Validate env var names with the strict pre-1.32 rule (<c>[-._a-zA-Z][-._a-zA-Z0-9]*</c>) instead of the
    /// relaxed rule a 1.34 server applies (any printable ASCII but <c>=</c>). Use it to emulate an older cluster.
    /// </summary>
    public bool StrictEnvironmentVariableNames { get; set; }

    /// <summary>The clock for timestamps and for every component.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Nodes, image mappings and timings for the Job controller, scheduler and node agent.</summary>
    public Workloads.WorkloadOptions Workloads { get; } = new();

    /// <summary>Logging for the API server and components; nothing is logged when null.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }
}
