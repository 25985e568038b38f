namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Options of the Kubernetes executor, bound from <c>Training:Kubernetes</c>. Every setting is validated at start-up
/// and errors name the configuration key, for example <c>Training:Kubernetes:Namespace</c>.
/// Defaults reproduce the platform's existing Job layout (see <c>docs/kubernetes.md</c>).
/// </summary>
public sealed class KubernetesExecutorOptions
{
    /// <summary>The configuration section these options are usually bound from.</summary>
    public const string SectionName = "Training:Kubernetes";

    /// <summary>The namespace Jobs are created in (default <c>training</c>).</summary>
    public string Namespace { get; set; } = "training";

    /// <summary>How to reach the cluster; unset means in-cluster, then <c>KUBECONFIG</c>, then <c>~/.kube/config</c>.</summary>
    public KubernetesConnectionOptions Connection { get; set; } = new();

    /// <summary>Which trainer image each framework runs.</summary>
    public KubernetesImageOptions Image { get; set; } = new();

    /// <summary>
    /// The container's command; the trainer contract's arguments follow it (default <c>python train.py</c>).
    /// When bound from configuration, the configured list replaces the default.
    /// </summary>
    public IList<string>? Command { get; set; }

    /// <summary>Where the trainer writes checkpoints and results inside the container (default <c>/workspace/output</c>).</summary>
    public string OutputDirectory { get; set; } = "/workspace/output";

    /// <summary>The pod's service account (default: the namespace's default account; its token is never mounted).</summary>
    public string? ServiceAccountName { get; set; }

    /// <summary>The pod's priority class, when the cluster uses them.</summary>
    public string? PriorityClassName { get; set; }

    /// <summary>GPU resource name and the scheduling hints applied to GPU jobs.</summary>
    public KubernetesGpuOptions Gpu { get; set; } = new();

    /// <summary>CPU and memory for jobs that set none (requests cpu 2 / memory 8Gi, limits cpu 4 / memory 16Gi).</summary>
    public KubernetesResourceOptions Resources { get; set; } = new()
    {
        CpuRequest = "2",
        CpuLimit = "4",
        MemoryRequest = "8Gi",
        MemoryLimit = "16Gi",
    };

    /// <summary>Volumes: <c>/dev/shm</c>, the workspace and the cache, plus extra volumes.</summary>
    public KubernetesStorageOptions Storage { get; set; } = new();

    /// <summary>
    /// Environment variables read from Secrets (secretKeyRef), by variable name. Defaults: <c>AWS_S3_ENDPOINT_URL</c>,
    /// <c>AWS_ACCESS_KEY_ID</c>, <c>AWS_SECRET_ACCESS_KEY</c> from Secret <c>r2-credentials</c> keys <c>endpoint</c>,
    /// <c>access-key</c>, <c>secret-key</c>. An entry with an empty <see cref="KubernetesKeyReference.Name"/> is left out.
    /// </summary>
    public IDictionary<string, KubernetesKeyReference> SecretEnvironment { get; } =
        new Dictionary<string, KubernetesKeyReference>(StringComparer.Ordinal)
        {
            ["AWS_S3_ENDPOINT_URL"] = new() { Name = "r2-credentials", Key = "endpoint" },
            ["AWS_ACCESS_KEY_ID"] = new() { Name = "r2-credentials", Key = "access-key" },
            ["AWS_SECRET_ACCESS_KEY"] = new() { Name = "r2-credentials", Key = "secret-key" },
        };

    /// <summary>
    /// Environment variables read from ConfigMaps (configMapKeyRef), by variable name. Default: <c>BACKEND_API_URL</c>
    /// from ConfigMap <c>backend-config</c> key <c>api-url</c>. An entry with an empty name is left out.
    /// </summary>
    public IDictionary<string, KubernetesKeyReference> ConfigMapEnvironment { get; } =
        new Dictionary<string, KubernetesKeyReference>(StringComparer.Ordinal)
        {
            ["BACKEND_API_URL"] = new() { Name = "backend-config", Key = "api-url" },
        };

    /// <summary>Extra plain (non-secret) environment variables for every trainer container.</summary>
    public IDictionary<string, string> Environment { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Retries, deadlines, clean-up and the pod failure policy of each Job.</summary>
    public KubernetesJobPolicyOptions Job { get; set; } = new();

    /// <summary>The pod's security context (the restricted Pod Security profile by default).</summary>
    public KubernetesSecurityOptions Security { get; set; } = new();

    /// <summary>
    /// Per-framework overrides (image, resources, environment, volumes), by framework name. Seeded for
    /// <c>huggingface</c> and <c>transformers</c>: memory 16Gi/32Gi, <c>HF_HOME=/tmp/huggingface</c>, a 10Gi cache.
    /// </summary>
    public IDictionary<string, KubernetesFrameworkOptions> Frameworks { get; } =
        new Dictionary<string, KubernetesFrameworkOptions>(StringComparer.OrdinalIgnoreCase)
        {
            ["huggingface"] = KubernetesFrameworkOptions.HuggingFaceDefaults(),
            ["transformers"] = KubernetesFrameworkOptions.HuggingFaceDefaults(),
        };

    /// <summary>How long a pod may stay in ImagePullBackOff/ErrImagePull before the run is reported Failed (default 5 minutes).</summary>
    public TimeSpan ImagePullBackOffTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long the cluster may keep refusing to create a run's pod (a FailedCreate Event: quota, Pod Security,
    /// LimitRange, a missing ServiceAccount) before the run is reported Failed (default 5 minutes). Until then it is
    /// Pending with reason <see cref="TrainingStatusReasons.FailedCreate"/> and the API server's message.
    /// </summary>
    public TimeSpan PodCreateFailureTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often <c>WatchAsync</c> and log following re-read the Job (default 2 seconds).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Archiving of runs' logs so that they outlive their pods (<c>Training:Kubernetes:Logs</c>).</summary>
    public KubernetesLogArchiveOptions Logs { get; set; } = new();

    /// <summary>The run monitor: one watch for Jobs and one for pods, a status cache, events (<c>Training:Kubernetes:Monitor</c>).</summary>
    public KubernetesMonitorOptions Monitor { get; set; } = new();

    /// <summary>
    /// Kueue: the LocalQueue and WorkloadPriorityClass of every run, and the preemption budget
    /// (<c>Training:Kubernetes:Kueue</c>). Without a queue nothing about Kueue is done.
    /// </summary>
    public KubernetesKueueOptions Kueue { get; set; } = new();

    /// <summary>How many of the failed container's last log lines a Failed status carries in its message (default 20; 0 for none).</summary>
    public int FailureLogLines { get; set; } = 20;

    /// <summary>The default command when <see cref="Command"/> is not set.</summary>
    public static IReadOnlyList<string> DefaultCommand { get; } = ["python", "train.py"];

    /// <summary>The effective command.</summary>
    internal IReadOnlyList<string> EffectiveCommand => Command is { Count: > 0 } c ? c.ToArray() : DefaultCommand;

    /// <summary>Returns the framework overrides for a framework, or <see langword="null"/>.</summary>
    /// <param name="framework">The framework name.</param>
    /// <returns>The overrides.</returns>
    internal KubernetesFrameworkOptions? ForFramework(string framework) =>
        Frameworks.TryGetValue(framework, out var f) ? f : null;
}
