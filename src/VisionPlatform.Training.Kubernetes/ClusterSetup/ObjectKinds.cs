using System.Security.Cryptography;
using k8s;
using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// The typed API calls and the comparison for each kind the set-up manages. Comparisons look only at what the
/// set-up sets (labels, annotations and fields others add are left alone) and name fields, never values.
/// </summary>
internal static class ObjectKinds
{
    public static ObjectApi<V1Namespace> Namespace { get; } = new()
    {
        Kind = "Namespace",
        Resource = "namespaces",
        Read = (c, name, _, ct) => c.CoreV1.ReadNamespaceAsync(name, cancellationToken: ct),
        Create = (c, body, _, ct) => c.CoreV1.CreateNamespaceAsync(body, cancellationToken: ct),
        Replace = (c, body, name, _, ct) => c.CoreV1.ReplaceNamespaceAsync(body, name, cancellationToken: ct),

        // A namespace is shared with whatever else runs there: that it exists is enough.
        Compare = (_, _) => [],
        RequireManagedLabel = false,
    };

    public static ObjectApi<V1ServiceAccount> ServiceAccount { get; } = new()
    {
        Kind = "ServiceAccount",
        Resource = "serviceaccounts",
        Read = (c, name, ns, ct) => c.CoreV1.ReadNamespacedServiceAccountAsync(name, ns, cancellationToken: ct),
        Create = (c, body, ns, ct) => c.CoreV1.CreateNamespacedServiceAccountAsync(body, ns, cancellationToken: ct),
        Replace = (c, body, name, ns, ct) => c.CoreV1.ReplaceNamespacedServiceAccountAsync(body, name, ns, cancellationToken: ct),
        Compare = (desired, existing) => Differences(
            (!Equals(desired.AutomountServiceAccountToken, existing.AutomountServiceAccountToken), "automountServiceAccountToken")),
    };

    public static ObjectApi<V1Secret> Secret { get; } = new()
    {
        Kind = "Secret",
        Resource = "secrets",
        Read = (c, name, ns, ct) => c.CoreV1.ReadNamespacedSecretAsync(name, ns, cancellationToken: ct),
        Create = (c, body, ns, ct) => c.CoreV1.CreateNamespacedSecretAsync(body, ns, cancellationToken: ct),
        Replace = (c, body, name, ns, ct) => c.CoreV1.ReplaceNamespacedSecretAsync(body, name, ns, cancellationToken: ct),
        Compare = CompareSecret,
        Sensitive = true,
        UpdateWhenManaged = true,
    };

    public static ObjectApi<V1ConfigMap> ConfigMap { get; } = new()
    {
        Kind = "ConfigMap",
        Resource = "configmaps",
        Read = (c, name, ns, ct) => c.CoreV1.ReadNamespacedConfigMapAsync(name, ns, cancellationToken: ct),
        Create = (c, body, ns, ct) => c.CoreV1.CreateNamespacedConfigMapAsync(body, ns, cancellationToken: ct),
        Replace = (c, body, name, ns, ct) => c.CoreV1.ReplaceNamespacedConfigMapAsync(body, name, ns, cancellationToken: ct),
        Compare = (desired, existing) => CompareData(desired.Data, existing.Data, (a, b) => a == b),
    };

    public static ObjectApi<V1Role> Role { get; } = new()
    {
        Kind = "Role",
        Resource = "roles.rbac.authorization.k8s.io",
        Read = (c, name, ns, ct) => c.RbacAuthorizationV1.ReadNamespacedRoleAsync(name, ns, cancellationToken: ct),
        Create = (c, body, ns, ct) => c.RbacAuthorizationV1.CreateNamespacedRoleAsync(body, ns, cancellationToken: ct),
        Replace = (c, body, name, ns, ct) => c.RbacAuthorizationV1.ReplaceNamespacedRoleAsync(body, name, ns, cancellationToken: ct),
        Compare = (desired, existing) => Differences((!SameRules(desired.Rules, existing.Rules), "rules")),
    };

    public static ObjectApi<V1RoleBinding> RoleBinding { get; } = new()
    {
        Kind = "RoleBinding",
        Resource = "rolebindings.rbac.authorization.k8s.io",
        Read = (c, name, ns, ct) => c.RbacAuthorizationV1.ReadNamespacedRoleBindingAsync(name, ns, cancellationToken: ct),
        Create = (c, body, ns, ct) => c.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(body, ns, cancellationToken: ct),
        Replace = (c, body, name, ns, ct) => c.RbacAuthorizationV1.ReplaceNamespacedRoleBindingAsync(body, name, ns, cancellationToken: ct),
        Delete = (c, name, ns, ct) => c.RbacAuthorizationV1.DeleteNamespacedRoleBindingAsync(name, ns, cancellationToken: ct),
        Compare = (desired, existing) => Differences(
            (Key(desired.RoleRef) != Key(existing.RoleRef), "roleRef"),
            (!SameSet(desired.Subjects, existing.Subjects, Key), "subjects")),

        // The API server refuses to change roleRef in place.
        Immutable = new HashSet<string>(StringComparer.Ordinal) { "roleRef" },
    };

    public static ObjectApi<V1NetworkPolicy> NetworkPolicy { get; } = new()
    {
        Kind = "NetworkPolicy",
        Resource = "networkpolicies.networking.k8s.io",
        Read = (c, name, ns, ct) => c.NetworkingV1.ReadNamespacedNetworkPolicyAsync(name, ns, cancellationToken: ct),
        Create = (c, body, ns, ct) => c.NetworkingV1.CreateNamespacedNetworkPolicyAsync(body, ns, cancellationToken: ct),
        Replace = (c, body, name, ns, ct) => c.NetworkingV1.ReplaceNamespacedNetworkPolicyAsync(body, name, ns, cancellationToken: ct),
        Compare = (desired, existing) => Differences(
            (SelectorKey(desired.Spec?.PodSelector) != SelectorKey(existing.Spec?.PodSelector), "spec.podSelector"),
            (!SameSet(desired.Spec?.PolicyTypes, existing.Spec?.PolicyTypes, t => t), "spec.policyTypes"),
            (!SameSet(desired.Spec?.Egress, existing.Spec?.Egress, EgressKey), "spec.egress"),
            ((existing.Spec?.Ingress?.Count ?? 0) != (desired.Spec?.Ingress?.Count ?? 0), "spec.ingress")),

        // Disabled means "not managed", not "must be absent": a policy someone else added is none of our business.
        LookForWhenSkipped = false,
    };

    public static ObjectApi<KueueLocalQueue> LocalQueue { get; } = new()
    {
        Kind = "LocalQueue",
        Resource = "localqueues.kueue.x-k8s.io",
        Read = async (c, name, ns, ct) => (await c.CustomObjects.GetNamespacedCustomObjectWithHttpMessagesAsync<KueueLocalQueue>(
            KueueApi.Group, KueueApi.Version, ns, KueueApi.LocalQueuesPlural, name, cancellationToken: ct).ConfigureAwait(false)).Body,
        Create = async (c, body, ns, ct) => (await c.CustomObjects.CreateNamespacedCustomObjectWithHttpMessagesAsync<KueueLocalQueue>(
            body, KueueApi.Group, KueueApi.Version, ns, KueueApi.LocalQueuesPlural, cancellationToken: ct).ConfigureAwait(false)).Body,
        Replace = async (c, body, name, ns, ct) => (await c.CustomObjects.ReplaceNamespacedCustomObjectWithHttpMessagesAsync<KueueLocalQueue>(
            body, KueueApi.Group, KueueApi.Version, ns, KueueApi.LocalQueuesPlural, name, cancellationToken: ct).ConfigureAwait(false)).Body,
        Compare = (desired, existing) => Differences((desired.Spec?.ClusterQueue != existing.Spec?.ClusterQueue, "spec.clusterQueue")),
        MissingApiHint = "Install Kueue (kueue.x-k8s.io/v1beta1) in the cluster first, or unset Training:Kubernetes:Kueue:QueueName.",
    };

    private static List<string> CompareSecret(V1Secret desired, V1Secret existing)
    {
        // Values are compared by SHA-256 only, in constant time, and reported by key.
        var differences = CompareData(desired.Data, existing.Data, (a, b) =>
            CryptographicOperations.FixedTimeEquals(SHA256.HashData(a ?? []), SHA256.HashData(b ?? [])));
        if ((existing.Type ?? "Opaque") != (desired.Type ?? "Opaque"))
        {
            differences.Insert(0, "type");
        }

        return differences;
    }

    private static List<string> CompareData<TValue>(IDictionary<string, TValue>? desired, IDictionary<string, TValue>? existing, Func<TValue, TValue, bool> equal)
    {
        desired ??= new Dictionary<string, TValue>();
        existing ??= new Dictionary<string, TValue>();
        return desired.Keys.Union(existing.Keys, StringComparer.Ordinal)
            .Where(key => !desired.TryGetValue(key, out var want) || !existing.TryGetValue(key, out var have) || !equal(want, have))
            .Order(StringComparer.Ordinal)
            .Select(key => $"data[{key}]")
            .ToList();
    }

    private static List<string> Differences(params (bool Differs, string Field)[] fields) =>
        fields.Where(f => f.Differs).Select(f => f.Field).ToList();

    // RBAC rules are sets: order of rules and of the values inside a rule does not change what they allow.
    private static bool SameRules(IList<V1PolicyRule>? desired, IList<V1PolicyRule>? existing) =>
        SameSet(desired, existing, r => string.Join(" | ",
            Sorted(r.ApiGroups), Sorted(r.Resources), Sorted(r.Verbs), Sorted(r.ResourceNames), Sorted(r.NonResourceURLs)));

    private static string EgressKey(V1NetworkPolicyEgressRule rule) =>
        Sorted(rule.Ports?.Select(p => $"{p.Protocol ?? "TCP"}/{p.Port?.Value}-{p.EndPort}")) + " to " + Sorted(rule.To?.Select(Json));

    private static string SelectorKey(V1LabelSelector? selector) =>
        Sorted(selector?.MatchLabels?.Select(p => $"{p.Key}={p.Value}")) + " & " +
        Sorted(selector?.MatchExpressions?.Select(e => $"{e.Key} {e.OperatorProperty} {Sorted(e.Values)}"));

    private static string Key(V1RoleRef? r) => $"{r?.ApiGroup}/{r?.Kind}/{r?.Name}";

    private static string Key(Rbacv1Subject s) => $"{s.ApiGroup}/{s.Kind}/{s.NamespaceProperty}/{s.Name}";

    private static string Sorted(IEnumerable<string?>? values) =>
        string.Join(",", (values ?? []).Select(v => v ?? "").Order(StringComparer.Ordinal));

    private static bool SameSet<TItem>(IEnumerable<TItem>? desired, IEnumerable<TItem>? existing, Func<TItem, string> key) =>
        Sorted((desired ?? []).Select(key)) == Sorted((existing ?? []).Select(key)) &&
        (desired?.Count() ?? 0) == (existing?.Count() ?? 0);

    private static string Json(object? value) => value is null ? "" : KubernetesJson.Serialize(value);
}
