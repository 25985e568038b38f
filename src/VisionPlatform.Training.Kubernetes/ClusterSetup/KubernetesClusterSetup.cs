using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VisionPlatform.Training.Storage;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Sets up the training namespace as code: the namespace, the storage credentials Secret, the backend ConfigMap, a
/// service account for training pods (no API permissions, no token), a least-privilege Role and RoleBinding for the
/// backend, and optionally a NetworkPolicy limiting the training pods' egress to DNS and HTTPS.
/// <list type="bullet">
/// <item><description><see cref="EnsureClusterResourcesAsync"/> creates what is missing; a second run changes nothing.</description></item>
/// <item><description><see cref="CheckClusterResourcesAsync"/> reports what is missing or different and writes nothing.</description></item>
/// <item><description><see cref="RenderYaml"/> renders the same objects for kubectl or GitOps (the Secret as a kubectl hint, never values).</description></item>
/// </list>
/// Objects that exist but differ, or that the SDK did not create, are reported as Conflict and left alone unless
/// <see cref="ClusterSetupOptions.OverwriteConflicts"/> is set. The Secret is the exception: one the SDK created is
/// updated when its values change. See <c>docs/kubernetes.md</c>, Cluster set-up.
/// </summary>
public sealed class KubernetesClusterSetup : IDisposable
{
    private readonly KubernetesConnection _connection;
    private readonly KubernetesExecutorOptions _executorOptions;
    private readonly ClusterSetupOptions _options;
    private readonly ArtifactStorageConnection? _storage;
    private readonly ILogger _logger;
    private readonly string _sectionPath = ClusterSetupOptions.SectionName;
    private readonly ClusterSetupOptionsValidator _validator = new(ClusterSetupOptions.SectionName);

    /// <summary>
    /// Creates the set-up with its own client, connecting as <c>Training:Kubernetes:Connection</c> says (API calls retried
    /// as <c>Connection:Resilience</c> says). The client is created on first use and disposed with the set-up.
    /// </summary>
    /// <param name="executorOptions">The executor's options: namespace, connection, and the Secret and ConfigMap keys the Jobs read.</param>
    /// <param name="options">What to create (default: <see cref="ClusterSetupOptions"/> defaults).</param>
    /// <param name="storageOptions">The artifact store's endpoint and credentials (registered by <c>AddArtifactStorage</c>), to fill the Secret; <see langword="null"/> for none.</param>
    /// <param name="timeProvider">The clock for retries (default system).</param>
    /// <param name="logger">The logger (default none).</param>
    public KubernetesClusterSetup(
        KubernetesExecutorOptions executorOptions,
        ClusterSetupOptions? options = null,
        ArtifactStorageConnection? storageOptions = null,
        TimeProvider? timeProvider = null,
        ILogger<KubernetesClusterSetup>? logger = null)
        : this(
            new KubernetesConnection(
                (executorOptions ?? throw new ArgumentNullException(nameof(executorOptions))).Connection,
                () => new KubernetesResilienceHandler(executorOptions.Connection.Resilience, timeProvider, logger)),
            executorOptions,
            options,
            storageOptions,
            logger)
    {
    }

    /// <summary>Creates the set-up over an existing client (which the caller keeps owning and disposes).</summary>
    /// <param name="client">The Kubernetes client.</param>
    /// <param name="executorOptions">The executor's options: namespace and the Secret and ConfigMap keys the Jobs read.</param>
    /// <param name="options">What to create (default: <see cref="ClusterSetupOptions"/> defaults).</param>
    /// <param name="storageOptions">The artifact store's endpoint and credentials (registered by <c>AddArtifactStorage</c>), to fill the Secret; <see langword="null"/> for none.</param>
    /// <param name="logger">The logger (default none).</param>
    public KubernetesClusterSetup(
        IKubernetes client,
        KubernetesExecutorOptions executorOptions,
        ClusterSetupOptions? options = null,
        ArtifactStorageConnection? storageOptions = null,
        ILogger<KubernetesClusterSetup>? logger = null)
        : this(new KubernetesConnection(client ?? throw new ArgumentNullException(nameof(client)), "the client passed to the cluster set-up"), executorOptions, options, storageOptions, logger)
    {
    }

    private KubernetesClusterSetup(
        KubernetesConnection connection,
        KubernetesExecutorOptions executorOptions,
        ClusterSetupOptions? options,
        ArtifactStorageConnection? storageOptions,
        ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(executorOptions);
        _connection = connection;
        _executorOptions = executorOptions;
        _options = options ?? new ClusterSetupOptions();
        _storage = storageOptions;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>
    /// Creates what is missing and verifies the rest. Idempotent: a second run makes no write calls and reports every
    /// object Unchanged. A managed Secret whose values changed is updated; any other difference, and any object the SDK did
    /// not create, is reported as Conflict and left alone unless <see cref="ClusterSetupOptions.OverwriteConflicts"/> is set.
    /// </summary>
    /// <param name="options">Options for this call; <see langword="null"/> for the configured ones.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>One result per object.</returns>
    /// <exception cref="TrainingValidationException">The options are invalid; nothing was sent.</exception>
    /// <exception cref="TrainingException">The API refused or failed (403: code <see cref="TrainingErrorCode.Forbidden"/>, with what to grant).</exception>
    public Task<ClusterSetupReport> EnsureClusterResourcesAsync(ClusterSetupOptions? options = null, CancellationToken cancellationToken = default) =>
        RunAsync(options, ensure: true, cancellationToken);

    /// <summary>
    /// Reports, without changing anything, which objects are Missing, Different (with the fields), Conflict (not created by
    /// the SDK) or Unchanged. Makes read calls only.
    /// </summary>
    /// <param name="options">Options for this call; <see langword="null"/> for the configured ones.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>One result per object.</returns>
    /// <exception cref="TrainingValidationException">The options are invalid; nothing was sent.</exception>
    /// <exception cref="TrainingException">The API refused or failed.</exception>
    public Task<ClusterSetupReport> CheckClusterResourcesAsync(ClusterSetupOptions? options = null, CancellationToken cancellationToken = default) =>
        RunAsync(options, ensure: false, cancellationToken);

    /// <summary>
    /// Renders the same objects as a multi-document YAML manifest for <c>kubectl apply -f</c> or GitOps. The Secret is never
    /// rendered (placeholders would blank real credentials on apply): a comment shows the <c>kubectl create secret</c>
    /// command with its keys. Needs no cluster.
    /// </summary>
    /// <param name="options">Options for this call; <see langword="null"/> for the configured ones.</param>
    /// <returns>The manifest.</returns>
    /// <exception cref="TrainingValidationException">The options are invalid.</exception>
    public string RenderYaml(ClusterSetupOptions? options = null) =>
        ClusterManifestYaml.Render(Manifest(options));

    /// <inheritdoc />
    public void Dispose() => _connection.Dispose();

    /// <summary>
    /// The configuration path the options were bound from (default <see cref="ClusterSetupOptions.SectionName"/>), named in
    /// validation errors and in the hints of Skipped objects; <c>AddKubernetes(section)</c> sets it to the bound section's path.
    /// </summary>
    internal string SectionPath
    {
        get => _sectionPath;
        init
        {
            _sectionPath = value;
            _validator = new ClusterSetupOptionsValidator(value);
        }
    }

    private ClusterManifest Manifest(ClusterSetupOptions? options)
    {
        var effective = options ?? _options;
        var errors = _validator.Check(effective);
        if (errors.Count > 0)
        {
            throw new TrainingValidationException(errors);
        }

        return ClusterManifest.Build(_executorOptions, effective, _storage, _sectionPath);
    }

    private async Task<ClusterSetupReport> RunAsync(ClusterSetupOptions? options, bool ensure, CancellationToken cancellationToken)
    {
        var manifest = Manifest(options);
        var context = new SetupContext(_connection.GetClient(), _connection.Source, (options ?? _options).OverwriteConflicts);
        var results = new List<ClusterResourceResult>();
        foreach (var item in Objects(manifest))
        {
            var result = ensure
                ? await item.EnsureAsync(context, cancellationToken).ConfigureAwait(false)
                : await item.CheckAsync(context, cancellationToken).ConfigureAwait(false);
            ClusterSetupLog.Report(_logger, result);
            results.Add(result);
        }

        var report = new ClusterSetupReport(results);
        var summary = string.Join(", ", results.GroupBy(r => r.State).Select(g => $"{g.Count()} {g.Key}"));
        ClusterSetupLog.Finished(_logger, manifest.Namespace, ensure ? "ensure" : "check", summary);
        return report;
    }

    private static IEnumerable<IManagedObject> Objects(ClusterManifest m)
    {
        var ns = m.Namespace;
        var secretNote = m.SecretKeysMissing.Count == 0 ? null
            : $"keys the Jobs read but no value is configured for: {string.Join(", ", m.SecretKeysMissing)}";
        yield return new ManagedObject<V1Namespace>(ObjectKinds.Namespace, ns, null, m.NamespaceObject, null, null);
        yield return new ManagedObject<V1ServiceAccount>(ObjectKinds.ServiceAccount, m.ServiceAccount.Metadata.Name, ns, m.ServiceAccount, null, null);
        yield return new ManagedObject<V1Secret>(ObjectKinds.Secret, m.SecretName, ns, m.Secret, m.SecretSkipped, secretNote);
        yield return new ManagedObject<V1ConfigMap>(ObjectKinds.ConfigMap, m.ConfigMapName, ns, m.ConfigMap, m.ConfigMapSkipped, null);
        yield return new ManagedObject<V1Role>(ObjectKinds.Role, m.Role.Metadata.Name, ns, m.Role, null, null);
        yield return new ManagedObject<V1RoleBinding>(ObjectKinds.RoleBinding, m.Role.Metadata.Name, ns, m.RoleBinding, m.RoleBindingSkipped, null);
        yield return new ManagedObject<V1NetworkPolicy>(ObjectKinds.NetworkPolicy, m.NetworkPolicyName, ns, m.NetworkPolicy, m.NetworkPolicySkipped, null);
        if (m.LocalQueueName is { } queue)
        {
            yield return new ManagedObject<KueueLocalQueue>(ObjectKinds.LocalQueue, queue, ns, m.LocalQueue, m.LocalQueueSkipped, null);
        }
    }
}
