namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// What <see cref="KubernetesClusterSetup"/> creates in the training namespace (<c>Training:Kubernetes:Namespace</c>),
/// usually bound from <c>Training:Kubernetes:ClusterSetup</c> and validated at start-up. A call may pass its own
/// instance instead. Secret values are never logged, never in <see cref="ToString"/>, reports, errors or YAML.
/// </summary>
public sealed class ClusterSetupOptions
{
    /// <summary>The configuration section these options are usually bound from.</summary>
    public const string SectionName = "Training:Kubernetes:ClusterSetup";

    /// <summary>The default name of the training pods' service account.</summary>
    public const string DefaultTrainingServiceAccountName = "training-job";

    /// <summary>The storage credentials Secret (default <c>r2-credentials</c>, the name the Job's secretKeyRefs use).</summary>
    public string SecretName { get; set; } = "r2-credentials";

    /// <summary>
    /// The Secret's values by key (for example <c>access-key</c>). Keys not set here are taken from the artifact store's
    /// options (<c>Training:Storage</c>: ServiceUrl, AccessKeyId, SecretAccessKey) for the keys the Job reads through
    /// <c>Training:Kubernetes:SecretEnvironment</c>, when <see cref="UseArtifactStorageCredentials"/> is set. With no
    /// values at all the Secret is not managed (reported as Skipped).
    /// </summary>
    public IDictionary<string, string> SecretData { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Fill the Secret from the artifact store's options when <see cref="SecretData"/> leaves a key unset (default true).</summary>
    public bool UseArtifactStorageCredentials { get; set; } = true;

    /// <summary>The backend ConfigMap (default <c>backend-config</c>).</summary>
    public string ConfigMapName { get; set; } = "backend-config";

    /// <summary>The ConfigMap's data (for example <c>api-url</c>). Empty: the ConfigMap is not managed (reported as Skipped).</summary>
    public IDictionary<string, string> ConfigMapData { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// The training pods' service account, created without API permissions and with
    /// <c>automountServiceAccountToken: false</c>. Unset: <c>Training:Kubernetes:ServiceAccountName</c> when set, otherwise
    /// <see cref="DefaultTrainingServiceAccountName"/>.
    /// </summary>
    public string? TrainingServiceAccountName { get; set; }

    /// <summary>The name of the backend's Role and RoleBinding (default <c>training-executor</c>).</summary>
    public string BackendRoleName { get; set; } = "training-executor";

    /// <summary>Who the backend runs as; the RoleBinding binds the Role to it. Without a name the RoleBinding is Skipped.</summary>
    public ClusterSetupSubjectOptions Backend { get; set; } = new();

    /// <summary>The optional NetworkPolicy limiting the training pods' egress to DNS and HTTPS (off by default).</summary>
    public ClusterSetupNetworkPolicyOptions NetworkPolicy { get; set; } = new();

    /// <summary>
    /// The Kueue LocalQueue (<c>Training:Kubernetes:ClusterSetup:Kueue</c>), managed when <c>Training:Kubernetes:Kueue:QueueName</c>
    /// is set: named after that queue, feeding <see cref="ClusterSetupKueueOptions.ClusterQueue"/>.
    /// </summary>
    public ClusterSetupKueueOptions Kueue { get; set; } = new();

    /// <summary>
    /// Replace objects that exist but differ, or that the SDK did not create (no <c>app.kubernetes.io/managed-by</c>
    /// label). Default false: they are reported as Conflict and left alone.
    /// </summary>
    public bool OverwriteConflicts { get; set; }

    /// <summary>Describes the settings; Secret values are never shown, only the keys.</summary>
    /// <returns>The description.</returns>
    public override string ToString() =>
        $"ClusterSetupOptions {{ SecretName = {SecretName}, SecretData keys = [{string.Join(", ", SecretData.Keys.Order(StringComparer.Ordinal))}] (values redacted), " +
        $"UseArtifactStorageCredentials = {UseArtifactStorageCredentials}, ConfigMapName = {ConfigMapName}, " +
        $"ConfigMapData keys = [{string.Join(", ", ConfigMapData.Keys.Order(StringComparer.Ordinal))}], TrainingServiceAccountName = {TrainingServiceAccountName ?? "(default)"}, " +
        $"BackendRoleName = {BackendRoleName}, Backend = {Backend.Kind} {Backend.Name ?? "(none)"}{(Backend.Namespace is null ? "" : " in " + Backend.Namespace)}, " +
        $"NetworkPolicy = {(NetworkPolicy.Enabled ? NetworkPolicy.Name : "(disabled)")}, Kueue:ClusterQueue = {Kueue.ClusterQueue ?? "(none)"}, OverwriteConflicts = {OverwriteConflicts} }}";
}

/// <summary>The identity the backend's RoleBinding grants the Role to (<c>Training:Kubernetes:ClusterSetup:Backend</c>).</summary>
public sealed class ClusterSetupSubjectOptions
{
    /// <summary><c>ServiceAccount</c> (default), <c>User</c> or <c>Group</c>.</summary>
    public string Kind { get; set; } = "ServiceAccount";

    /// <summary>The service account, user or group name; unset: no RoleBinding is managed.</summary>
    public string? Name { get; set; }

    /// <summary>The service account's namespace (default: the training namespace). Only for <c>ServiceAccount</c>.</summary>
    public string? Namespace { get; set; }
}

/// <summary>The training pods' egress NetworkPolicy (<c>Training:Kubernetes:ClusterSetup:NetworkPolicy</c>).</summary>
public sealed class ClusterSetupNetworkPolicyOptions
{
    /// <summary>Create the policy (default false: many clusters manage network policy elsewhere or run no policy engine).</summary>
    public bool Enabled { get; set; }

    /// <summary>The policy's name (default <c>training-egress</c>).</summary>
    public string Name { get; set; } = "training-egress";
}

/// <summary>The Kueue objects of the set-up (<c>Training:Kubernetes:ClusterSetup:Kueue</c>).</summary>
public sealed class ClusterSetupKueueOptions
{
    /// <summary>
    /// The ClusterQueue the LocalQueue <c>Training:Kubernetes:Kueue:QueueName</c> feeds (<c>spec.clusterQueue</c>). The
    /// ClusterQueue itself is cluster-scoped and shared: the cluster's administrator creates it. Unset: the LocalQueue is
    /// not managed (the RBAC for Kueue still is, whenever a queue is configured).
    /// </summary>
    public string? ClusterQueue { get; set; }
}
