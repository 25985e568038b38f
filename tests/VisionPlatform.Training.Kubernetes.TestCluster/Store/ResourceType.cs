namespace VisionPlatform.Training.Kubernetes.TestCluster.Store;

/// <summary>
/// One kind of object the cluster stores, identified the way the API server identifies it:
/// group, version and plural resource name, plus the Kind written into objects.
/// </summary>
/// <param name="Group">API group; empty for the core group.</param>
/// <param name="Version">API version, e.g. <c>v1</c>.</param>
/// <param name="Plural">Plural resource name used in URLs, e.g. <c>jobs</c>.</param>
/// <param name="Kind">Kind written into objects, e.g. <c>Job</c>.</param>
/// <param name="Namespaced">Whether objects live in a namespace.</param>
public sealed record ResourceType(string Group, string Version, string Plural, string Kind, bool Namespaced)
{
    /// <summary>batch/v1 Jobs.</summary>
    public static readonly ResourceType Jobs = new("batch", "v1", "jobs", "Job", true);

    /// <summary>v1 Pods.</summary>
    public static readonly ResourceType Pods = new("", "v1", "pods", "Pod", true);

    /// <summary>v1 Namespaces (cluster-scoped).</summary>
    public static readonly ResourceType Namespaces = new("", "v1", "namespaces", "Namespace", false);

    /// <summary>v1 Nodes (cluster-scoped).</summary>
    public static readonly ResourceType Nodes = new("", "v1", "nodes", "Node", false);

    /// <summary>v1 Secrets.</summary>
    public static readonly ResourceType Secrets = new("", "v1", "secrets", "Secret", true);

    /// <summary>v1 ConfigMaps.</summary>
    public static readonly ResourceType ConfigMaps = new("", "v1", "configmaps", "ConfigMap", true);

    /// <summary>v1 ServiceAccounts.</summary>
    public static readonly ResourceType ServiceAccounts = new("", "v1", "serviceaccounts", "ServiceAccount", true);

    /// <summary>v1 Events (core group).</summary>
    public static readonly ResourceType Events = new("", "v1", "events", "Event", true);

    /// <summary>
    /// events.k8s.io/v1 Events: a read-only view of the core/v1 Events (the events mirror keeps it), as the apiserver
    /// serves the same stored events in both groups.
    /// </summary>
    public static readonly ResourceType EventsV1 = new("events.k8s.io", "v1", "events", "Event", true);

    /// <summary>rbac.authorization.k8s.io/v1 Roles.</summary>
    public static readonly ResourceType Roles = new("rbac.authorization.k8s.io", "v1", "roles", "Role", true);

    /// <summary>rbac.authorization.k8s.io/v1 RoleBindings.</summary>
    public static readonly ResourceType RoleBindings = new("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true);

    /// <summary>networking.k8s.io/v1 NetworkPolicies (stored and validated; the cluster does not enforce them).</summary>
    public static readonly ResourceType NetworkPolicies = new("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true);

    /// <summary>v1 Services (headless ones give pods DNS names; the cluster routes no virtual IPs).</summary>
    public static readonly ResourceType Services = new("", "v1", "services", "Service", true);

    /// <summary>discovery.k8s.io/v1 EndpointSlices, maintained for Services with a selector.</summary>
    public static readonly ResourceType EndpointSlices = new("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true);

    /// <summary>v1 ResourceQuotas, enforced on pod and Job creation (status maintained by the quota controller).</summary>
    public static readonly ResourceType ResourceQuotas = new("", "v1", "resourcequotas", "ResourceQuota", true);

    /// <summary>v1 LimitRanges: container defaults and bounds applied on pod creation.</summary>
    public static readonly ResourceType LimitRanges = new("", "v1", "limitranges", "LimitRange", true);

    /// <summary>coordination.k8s.io/v1 Leases (leader election: stored and validated, no controller acts on them).</summary>
    public static readonly ResourceType Leases = new("coordination.k8s.io", "v1", "leases", "Lease", true);

    /// <summary>kueue.x-k8s.io/v1beta1 ResourceFlavors (cluster-scoped; the Kueue simulation).</summary>
    public static readonly ResourceType ResourceFlavors = new("kueue.x-k8s.io", "v1beta1", "resourceflavors", "ResourceFlavor", false);

    /// <summary>kueue.x-k8s.io/v1beta1 ClusterQueues (cluster-scoped; status kept by the Kueue simulation).</summary>
    public static readonly ResourceType ClusterQueues = new("kueue.x-k8s.io", "v1beta1", "clusterqueues", "ClusterQueue", false);

    /// <summary>kueue.x-k8s.io/v1beta1 LocalQueues (status kept by the Kueue simulation).</summary>
    public static readonly ResourceType LocalQueues = new("kueue.x-k8s.io", "v1beta1", "localqueues", "LocalQueue", true);

    /// <summary>kueue.x-k8s.io/v1beta1 WorkloadPriorityClasses (cluster-scoped).</summary>
    public static readonly ResourceType WorkloadPriorityClasses = new("kueue.x-k8s.io", "v1beta1", "workloadpriorityclasses", "WorkloadPriorityClass", false);

    /// <summary>kueue.x-k8s.io/v1beta1 Workloads (created and admitted by the Kueue simulation).</summary>
    public static readonly ResourceType Workloads = new("kueue.x-k8s.io", "v1beta1", "workloads", "Workload", true);

    /// <summary>Every resource type the cluster serves.</summary>
    public static IReadOnlyList<ResourceType> All { get; } =
        [Namespaces, Nodes, Pods, Secrets, ConfigMaps, ServiceAccounts, Events, Services, ResourceQuotas, LimitRanges, Jobs, EventsV1, Roles, RoleBindings, NetworkPolicies, EndpointSlices, Leases,
        ResourceFlavors, ClusterQueues, LocalQueues, WorkloadPriorityClasses, Workloads];

    /// <summary>The <c>apiVersion</c> written into objects: <c>v1</c> or <c>group/version</c>.</summary>
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>The list kind, e.g. <c>JobList</c>.</summary>
    public string ListKind => Kind + "List";

    /// <summary>
    /// The resource as error messages name it: <c>jobs.batch</c>, or just <c>pods</c> in the core group.
    /// </summary>
    public string QualifiedResource => Group.Length == 0 ? Plural : $"{Plural}.{Group}";

    /// <summary>The kind as validation errors name it: <c>Job.batch</c>, or just <c>Pod</c> in the core group.</summary>
    public string QualifiedKind => Group.Length == 0 ? Kind : $"{Kind}.{Group}";

    /// <summary>Whether the server maintains <c>metadata.generation</c> for this type.</summary>
    public bool TracksGeneration => this == Jobs || this == Pods || Group == "kueue.x-k8s.io";

    /// <summary>Finds a served type by group, version and plural, or returns null.</summary>
    public static ResourceType? Find(string group, string version, string plural) =>
        All.FirstOrDefault(t => t.Group == group && t.Version == version && t.Plural == plural);

    /// <inheritdoc />
    public override string ToString() => $"{QualifiedResource}/{Version}";
}
