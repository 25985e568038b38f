using System.Text;
using k8s.Models;
using VisionPlatform.Training.Storage;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// The objects the cluster set-up wants, built from the executor's and the set-up's options: one source for
/// <see cref="KubernetesClusterSetup.EnsureClusterResourcesAsync"/>, the check and the rendered YAML.
/// An object the options do not let the set-up manage is null, with the reason in the matching <c>…Skipped</c> property.
/// </summary>
internal sealed class ClusterManifest
{
    public const string RbacGroup = "rbac.authorization.k8s.io";

    // Which artifact-store setting fills which variable the trainer reads from the Secret.
    private static readonly Dictionary<string, Func<ArtifactStorageConnection, string?>> StorageValues = new(StringComparer.Ordinal)
    {
        ["AWS_S3_ENDPOINT_URL"] = s => s.ServiceUrl,
        ["AWS_ENDPOINT_URL"] = s => s.ServiceUrl,
        ["AWS_ACCESS_KEY_ID"] = s => s.AccessKeyId,
        ["AWS_SECRET_ACCESS_KEY"] = s => s.SecretAccessKey,
        ["AWS_REGION"] = s => s.Region,
        ["AWS_DEFAULT_REGION"] = s => s.Region,
    };

    private ClusterManifest(string @namespace, string sectionPath)
    {
        Namespace = @namespace;
        SectionPath = sectionPath;
    }

    public string Namespace { get; }

    public string SectionPath { get; }

    public V1Namespace NamespaceObject { get; private set; } = null!;

    public V1ServiceAccount ServiceAccount { get; private set; } = null!;

    /// <summary>The Secret with its values; never logged or rendered.</summary>
    public V1Secret? Secret { get; private set; }

    public string SecretName { get; private set; } = "";

    public string? SecretSkipped { get; private set; }

    /// <summary>Keys the Job reads from the Secret (non-optional) that the options leave unset.</summary>
    public IReadOnlyList<string> SecretKeysMissing { get; private set; } = [];

    /// <summary>Keys the Job reads from the Secret, for the kubectl hint in the YAML.</summary>
    public IReadOnlyList<string> SecretKeysReferenced { get; private set; } = [];

    public V1ConfigMap? ConfigMap { get; private set; }

    public string ConfigMapName { get; private set; } = "";

    public string? ConfigMapSkipped { get; private set; }

    public IReadOnlyList<string> ConfigMapKeysReferenced { get; private set; } = [];

    public V1Role Role { get; private set; } = null!;

    public V1RoleBinding? RoleBinding { get; private set; }

    public string? RoleBindingSkipped { get; private set; }

    public V1NetworkPolicy? NetworkPolicy { get; private set; }

    public string? NetworkPolicySkipped { get; private set; }

    public string NetworkPolicyName { get; private set; } = "";

    /// <summary>The Kueue LocalQueue, when a queue and its ClusterQueue are configured.</summary>
    public KueueLocalQueue? LocalQueue { get; private set; }

    /// <summary>The LocalQueue's name (<c>Training:Kubernetes:Kueue:QueueName</c>), or null without Kueue.</summary>
    public string? LocalQueueName { get; private set; }

    public string? LocalQueueSkipped { get; private set; }

    /// <summary>The labels every object the set-up creates carries.</summary>
    public static IReadOnlyDictionary<string, string> ManagedLabels { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [KubernetesLabels.Name] = KubernetesLabels.AppName,
        [KubernetesLabels.ManagedBy] = KubernetesLabels.ManagedByValue,
    };

    /// <summary>The backend's rules, exactly: what the executor calls and nothing else.</summary>
    public static IReadOnlyList<V1PolicyRule> BackendRules() =>
    [
        // delete: only to take back a distributed job's Job whose Service could not be created (nothing half-created).
        new() { ApiGroups = ["batch"], Resources = ["jobs"], Verbs = ["create", "get", "list", "watch", "patch", "delete"] },
        new() { ApiGroups = [""], Resources = ["pods"], Verbs = ["get", "list", "watch"] },
        new() { ApiGroups = [""], Resources = ["pods/log"], Verbs = ["get"] },
        new() { ApiGroups = [""], Resources = ["configmaps"], Verbs = ["create", "get", "patch", "delete"] },

        // A distributed job's headless Service (created with the Job, owned by it; delete replaces a stale one).
        new() { ApiGroups = [""], Resources = ["services"], Verbs = ["create", "get", "delete"] },

        // The Job controller's FailedCreate Events: why a run's pod is refused (quota, Pod Security, ...).
        new() { ApiGroups = [""], Resources = ["events"], Verbs = ["get", "list", "watch"] },

        // The log archiving's Lease (one host per namespace archives). resourceNames cannot restrict create (the name is
        // not known when create is authorized), so the rule covers the namespace's leases.
        new() { ApiGroups = ["coordination.k8s.io"], Resources = ["leases"], Verbs = ["get", "create", "update"] },
    ];

    /// <summary>
    /// The backend's rules with Kueue: the base rules, plus reading (and, for the preemption budget, deactivating) the
    /// runs' Workloads, and the visibility API's pending workloads of the namespace's LocalQueues (the queue position).
    /// </summary>
    public static IReadOnlyList<V1PolicyRule> BackendRules(bool kueue) => !kueue ? BackendRules() :
    [
        .. BackendRules(),

        // Workloads: the monitor watches them (Queued/Preempted statuses); patch sets spec.active=false once a run's
        // preemption budget is spent, so Kueue never admits it again.
        new() { ApiGroups = [KueueApi.Group], Resources = [KueueApi.WorkloadsPlural], Verbs = ["get", "list", "watch", "patch"] },

        // The queue position (optional: without it statuses lack the position, nothing else).
        new() { ApiGroups = [KueueApi.VisibilityGroup], Resources = ["localqueues/pendingworkloads"], Verbs = ["get"] },
    ];

    /// <summary>The labels that select the training pods (see <see cref="KubernetesLabels"/>; every Job's pods carry them).</summary>
    public static IDictionary<string, string> TrainingPodSelector() => new SortedDictionary<string, string>(StringComparer.Ordinal)
    {
        [KubernetesLabels.App] = KubernetesLabels.AppValue,
        [KubernetesLabels.ManagedBy] = KubernetesLabels.ManagedByValue,
    };

    public static ClusterManifest Build(KubernetesExecutorOptions executor, ClusterSetupOptions options, ArtifactStorageConnection? storage, string sectionPath)
    {
        ArgumentNullException.ThrowIfNull(executor);
        ArgumentNullException.ThrowIfNull(options);
        var ns = executor.Namespace;
        var m = new ClusterManifest(ns, sectionPath);
        m.NamespaceObject = new V1Namespace
        {
            ApiVersion = "v1",
            Kind = "Namespace",
            Metadata = new V1ObjectMeta { Name = ns, Labels = Labels() },
        };

        m.ServiceAccount = new V1ServiceAccount
        {
            ApiVersion = "v1",
            Kind = "ServiceAccount",
            Metadata = Meta(options.TrainingServiceAccountName ?? executor.ServiceAccountName ?? ClusterSetupOptions.DefaultTrainingServiceAccountName, ns),
            AutomountServiceAccountToken = false,
        };

        m.BuildSecret(executor, options, storage);
        m.BuildConfigMap(executor, options);

        var roleName = options.BackendRoleName;
        m.Role = new V1Role
        {
            ApiVersion = $"{RbacGroup}/v1",
            Kind = "Role",
            Metadata = Meta(roleName, ns),
            Rules = [.. BackendRules(executor.Kueue.IsEnabled)],
        };

        var backend = options.Backend ?? new ClusterSetupSubjectOptions();
        if (string.IsNullOrEmpty(backend.Name))
        {
            m.RoleBindingSkipped = $"no backend subject is configured: set {sectionPath}:Backend:Name (and Kind, Namespace) to bind Role '{roleName}'.";
        }
        else
        {
            m.RoleBinding = new V1RoleBinding
            {
                ApiVersion = $"{RbacGroup}/v1",
                Kind = "RoleBinding",
                Metadata = Meta(roleName, ns),
                RoleRef = new V1RoleRef { ApiGroup = RbacGroup, Kind = "Role", Name = roleName },
                Subjects =
                [
                    backend.Kind == "ServiceAccount"
                        ? new Rbacv1Subject { Kind = "ServiceAccount", Name = backend.Name, NamespaceProperty = backend.Namespace ?? ns }
                        : new Rbacv1Subject { Kind = backend.Kind, Name = backend.Name, ApiGroup = RbacGroup },
                ],
            };
        }

        var policy = options.NetworkPolicy ?? new ClusterSetupNetworkPolicyOptions();
        m.NetworkPolicyName = policy.Name;
        if (!policy.Enabled)
        {
            m.NetworkPolicySkipped = $"disabled: set {sectionPath}:NetworkPolicy:Enabled to limit the training pods' egress to DNS and HTTPS.";
        }
        else
        {
            m.NetworkPolicy = new V1NetworkPolicy
            {
                ApiVersion = "networking.k8s.io/v1",
                Kind = "NetworkPolicy",
                Metadata = Meta(policy.Name, ns),
                Spec = new V1NetworkPolicySpec
                {
                    PodSelector = new V1LabelSelector { MatchLabels = TrainingPodSelector() },
                    PolicyTypes = ["Egress"],
                    Egress =
                    [
                        // DNS to any resolver (cluster DNS runs in kube-system; some nodes use a local cache).
                        new V1NetworkPolicyEgressRule
                        {
                            Ports =
                            [
                                new V1NetworkPolicyPort { Protocol = "UDP", Port = 53 },
                                new V1NetworkPolicyPort { Protocol = "TCP", Port = 53 },
                            ],
                        },

                        // HTTPS anywhere: object storage, model hubs, the backend's callback URL when it is HTTPS.
                        new V1NetworkPolicyEgressRule
                        {
                            Ports = [new V1NetworkPolicyPort { Protocol = "TCP", Port = 443 }],
                        },
                    ],
                },
            };
        }

        m.BuildLocalQueue(executor, options);
        return m;
    }

    private void BuildLocalQueue(KubernetesExecutorOptions executor, ClusterSetupOptions options)
    {
        if (!executor.Kueue.IsEnabled)
        {
            return;
        }

        LocalQueueName = executor.Kueue.QueueName;
        if ((options.Kueue ?? new ClusterSetupKueueOptions()).ClusterQueue is not { Length: > 0 } clusterQueue)
        {
            LocalQueueSkipped = $"no ClusterQueue is configured: set {SectionPath}:Kueue:ClusterQueue to the ClusterQueue LocalQueue '{LocalQueueName}' feeds.";
            return;
        }

        LocalQueue = new KueueLocalQueue
        {
            Metadata = Meta(LocalQueueName!, Namespace),
            Spec = new KueueLocalQueueSpec { ClusterQueue = clusterQueue },
        };
    }

    private void BuildSecret(KubernetesExecutorOptions executor, ClusterSetupOptions options, ArtifactStorageConnection? storage)
    {
        SecretName = options.SecretName;
        var references = executor.SecretEnvironment
            .Where(e => e.Value is { } r && r.Name == SecretName && !string.IsNullOrEmpty(r.Key))
            .ToList();
        SecretKeysReferenced = references.Select(e => e.Value.Key!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

        var data = new SortedDictionary<string, string>(options.SecretData, StringComparer.Ordinal);
        if (options.UseArtifactStorageCredentials && storage is not null)
        {
            foreach (var (variable, reference) in references)
            {
                if (!data.ContainsKey(reference.Key!) && StorageValues.TryGetValue(variable, out var read) && read(storage) is { Length: > 0 } value)
                {
                    data[reference.Key!] = value;
                }
            }
        }

        SecretKeysMissing = references.Where(e => !e.Value.Optional && !data.ContainsKey(e.Value.Key!))
            .Select(e => e.Value.Key!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (data.Count == 0)
        {
            SecretSkipped = $"no values are configured: set {SectionPath}:SecretData:<key>, or the artifact store's credentials (Training:Storage:AccessKeyId, SecretAccessKey, ServiceUrl).";
            return;
        }

        Secret = new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Metadata = Meta(SecretName, Namespace),
            Type = "Opaque",
            Data = data.ToDictionary(p => p.Key, p => Encoding.UTF8.GetBytes(p.Value), StringComparer.Ordinal),
        };
    }

    private void BuildConfigMap(KubernetesExecutorOptions executor, ClusterSetupOptions options)
    {
        ConfigMapName = options.ConfigMapName;
        ConfigMapKeysReferenced = executor.ConfigMapEnvironment
            .Where(e => e.Value is { } r && r.Name == ConfigMapName && !string.IsNullOrEmpty(r.Key))
            .Select(e => e.Value.Key!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (options.ConfigMapData.Count == 0)
        {
            ConfigMapSkipped = $"no data is configured: set {SectionPath}:ConfigMapData:<key> (the Job reads {Keys(ConfigMapKeysReferenced)}).";
            return;
        }

        ConfigMap = new V1ConfigMap
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = Meta(ConfigMapName, Namespace),
            Data = new SortedDictionary<string, string>(options.ConfigMapData, StringComparer.Ordinal),
        };
    }

    private static string Keys(IReadOnlyList<string> keys) => keys.Count == 0 ? "no keys" : string.Join(", ", keys);

    private static V1ObjectMeta Meta(string name, string ns) => new() { Name = name, NamespaceProperty = ns, Labels = Labels() };

    private static SortedDictionary<string, string> Labels() => new(ManagedLabels.ToDictionary(), StringComparer.Ordinal);
}
