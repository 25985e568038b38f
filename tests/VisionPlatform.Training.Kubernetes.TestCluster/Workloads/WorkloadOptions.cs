using VisionPlatform.Training.Kubernetes.TestCluster.Scheduling;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

/// <summary>
/// What the cluster runs pods on and with: the simulated nodes, how images map to local programs, and the timings the
/// controllers and the node agent use (shortened from the real defaults so tests stay fast; each says the real value).
/// </summary>
public sealed class WorkloadOptions
{
    /// <summary>The nodes; by default one node <c>node-1</c> with 8 cpu and 32Gi of memory and no GPUs.</summary>
    public IList<SimulatedNode> Nodes { get; } = [SimulatedNode.Default()];

    /// <summary>
    /// Image → how to run it locally. An image with a registry prefix also matches its entry without one
    /// (<c>registry.example/trainer:1</c> matches <c>trainer:1</c>). Unmapped images fail to pull (ErrImagePull).
    /// </summary>
    public IDictionary<string, ImageMapping> Images { get; } = new Dictionary<string, ImageMapping>(StringComparer.Ordinal);

    /// <summary>Consulted for images not in <see cref="Images"/>; return null for "no such image".</summary>
    public Func<string, ImageMapping?>? ImageResolver { get; set; }

    /// <summary>
    /// The Job controller's base delay before replacing a failed pod, doubled per consecutive failure up to 6 minutes.
    /// Real clusters: 10 s. Default here: 1 s.
    /// </summary>
    public TimeSpan JobPodFailureBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The Job controller's first delay before retrying a Job whose pod creation was refused (quota, Pod Security,
    /// missing ServiceAccount, LimitRange), doubled per consecutive refusal up to <see cref="MaxJobCreateBackoff"/>.
    /// Real clusters: 1 s (DefaultJobApiBackOff). Default here: 1 s.
    /// </summary>
    public TimeSpan JobCreateBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest delay between retries of a refused pod creation. Real clusters: 60 s (MaxJobApiBackOff).</summary>
    public TimeSpan MaxJobCreateBackoff { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long the kubelet shows ErrImagePull before ImagePullBackOff, and between retries. Real: 10 s doubling to 5 min. Default here: 1 s.</summary>
    public TimeSpan ImagePullBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The simulated time a container takes to be created (ContainerCreating) before its process starts. Default 100 ms.</summary>
    public TimeSpan ContainerCreationDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Host environment variables passed to every container besides its own env (nothing else leaks).</summary>
    public IList<string> InheritedEnvironment { get; } = ["PATH", "HOME", "LANG"];

    /// <summary>
    /// Whether pods that need names (a <c>subdomain</c>, or a <c>hostname</c>) get their own UTS and mount namespace
    /// (their hostname and hosts file; needs root: <c>unshare --mount --uts</c>). Null (default): probe the machine once.
    /// False: behave as a machine where that is not permitted (a pod with a subdomain fails to start, saying why; one
    /// with only a hostname runs without its own hostname). True: skip the probe.
    /// </summary>
    public bool? PodNamespaces { get; set; }

    /// <summary>
    /// How often the kubelet runs a container's readinessProbe (exec, tcpSocket, httpGet). Real clusters: the probe's
    /// <c>periodSeconds</c> (default 10 s). Default here: 200 ms for every probe.
    /// </summary>
    public TimeSpan ReadinessProbePeriod { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How often the controllers re-check everything even without a change (they also react to every change).</summary>
    public TimeSpan ResyncInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The shortest time between the starts of two reconciliation passes of one component. Default 0: every change is
    /// handled at once. Each pass looks at the whole state, so with thousands of Jobs and pods passes that run back to
    /// back would take the machine; a few hundred milliseconds batches the changes (real controllers batch through
    /// their work queues too).
    /// </summary>
    public TimeSpan MinReconcileInterval { get; set; }
}
