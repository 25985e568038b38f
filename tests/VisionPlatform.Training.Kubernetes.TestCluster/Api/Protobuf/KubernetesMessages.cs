namespace VisionPlatform.Training.Kubernetes.TestCluster.Api.Protobuf;

/// <summary>
/// The protobuf schemas of the built-in kinds kubectl's typed commands send (<c>create namespace</c>, <c>create
/// configmap</c>, <c>create secret</c>, <c>create serviceaccount</c>, <c>create role</c>, <c>create rolebinding</c>,
/// <c>create quota</c>, <c>auth can-i</c>, and the DeleteOptions of <c>delete</c>). Field numbers are those of
/// k8s.io/api and k8s.io/apimachinery's generated.proto; fields not listed are skipped as unknown.
/// </summary>
internal static class KubernetesMessages
{
    private static ProtoField S(int n, string name, bool required = false) => new(n, name, ProtoKind.String, Required: required);

    private static ProtoField Strings(int n, string name) => new(n, name, ProtoKind.String, Repeated: true);

    private static ProtoField M(int n, string name, ProtoMessage message, bool repeated = false) => new(n, name, ProtoKind.Message, repeated, message);

    private static readonly ProtoMessage OwnerReference = new("OwnerReference",
        S(1, "kind", required: true), S(3, "name", required: true), S(4, "uid", required: true), S(5, "apiVersion", required: true),
        new(6, "controller", ProtoKind.Bool), new(7, "blockOwnerDeletion", ProtoKind.Bool));

    public static readonly ProtoMessage ObjectMeta = new("ObjectMeta",
        S(1, "name"), S(2, "generateName"), S(3, "namespace"), S(4, "selfLink"), S(5, "uid"), S(6, "resourceVersion"),
        new(7, "generation", ProtoKind.Int), new(8, "creationTimestamp", ProtoKind.Time), new(9, "deletionTimestamp", ProtoKind.Time),
        new(10, "deletionGracePeriodSeconds", ProtoKind.Int, Required: true), new(11, "labels", ProtoKind.StringMap),
        new(12, "annotations", ProtoKind.StringMap), M(13, "ownerReferences", OwnerReference, repeated: true), Strings(14, "finalizers"));

    private static readonly ProtoMessage ObjectReference = new("ObjectReference",
        S(1, "kind"), S(2, "namespace"), S(3, "name"), S(4, "uid"), S(5, "apiVersion"), S(6, "resourceVersion"), S(7, "fieldPath"));

    private static readonly ProtoMessage LocalObjectReference = new("LocalObjectReference", S(1, "name"));

    private static readonly ProtoMessage PolicyRule = new("PolicyRule",
        Strings(1, "verbs"), Strings(2, "apiGroups"), Strings(3, "resources"), Strings(4, "resourceNames"), Strings(5, "nonResourceURLs"));

    private static readonly ProtoMessage ScopedResourceSelectorRequirement = new("ScopedResourceSelectorRequirement",
        S(1, "scopeName", required: true), S(2, "operator", required: true), Strings(3, "values"));

    /// <summary>The kinds whose bodies may come as protobuf, by kind.</summary>
    public static IReadOnlyDictionary<string, ProtoMessage> ByKind { get; } = new Dictionary<string, ProtoMessage>(StringComparer.Ordinal)
    {
        ["Namespace"] = new("Namespace",
            M(1, "metadata", ObjectMeta),
            M(2, "spec", new ProtoMessage("NamespaceSpec", Strings(1, "finalizers"))),
            M(3, "status", new ProtoMessage("NamespaceStatus", S(1, "phase")))),
        ["ConfigMap"] = new("ConfigMap",
            M(1, "metadata", ObjectMeta), new(2, "data", ProtoKind.StringMap), new(3, "binaryData", ProtoKind.BytesMap), new(4, "immutable", ProtoKind.Bool)),
        ["Secret"] = new("Secret",
            M(1, "metadata", ObjectMeta), new(2, "data", ProtoKind.BytesMap), S(3, "type"), new(4, "stringData", ProtoKind.StringMap), new(5, "immutable", ProtoKind.Bool)),
        ["ServiceAccount"] = new("ServiceAccount",
            M(1, "metadata", ObjectMeta), M(2, "secrets", ObjectReference, repeated: true), M(3, "imagePullSecrets", LocalObjectReference, repeated: true),
            new(4, "automountServiceAccountToken", ProtoKind.Bool)),
        ["ResourceQuota"] = new("ResourceQuota",
            M(1, "metadata", ObjectMeta),
            M(2, "spec", new ProtoMessage("ResourceQuotaSpec",
                new(1, "hard", ProtoKind.QuantityMap), Strings(2, "scopes"),
                M(3, "scopeSelector", new ProtoMessage("ScopeSelector", M(1, "matchExpressions", ScopedResourceSelectorRequirement, repeated: true))))),
            M(3, "status", new ProtoMessage("ResourceQuotaStatus", new(1, "hard", ProtoKind.QuantityMap), new(2, "used", ProtoKind.QuantityMap)))),
        ["Role"] = new("Role", M(1, "metadata", ObjectMeta), M(2, "rules", PolicyRule, repeated: true)),
        ["RoleBinding"] = new("RoleBinding",
            M(1, "metadata", ObjectMeta),
            M(2, "subjects", new ProtoMessage("Subject", S(1, "kind", required: true), S(2, "apiGroup"), S(3, "name", required: true), S(4, "namespace")), repeated: true),
            M(3, "roleRef", new ProtoMessage("RoleRef", S(1, "apiGroup", required: true), S(2, "kind", required: true), S(3, "name", required: true)))),
        ["DeleteOptions"] = new("DeleteOptions",
            new(1, "gracePeriodSeconds", ProtoKind.Int, Required: true),
            M(2, "preconditions", new ProtoMessage("Preconditions", S(1, "uid"), S(2, "resourceVersion"))),
            new(3, "orphanDependents", ProtoKind.Bool), S(4, "propagationPolicy"), Strings(5, "dryRun")),
        ["SelfSubjectAccessReview"] = new("SelfSubjectAccessReview",
            M(1, "metadata", ObjectMeta),
            M(2, "spec", new ProtoMessage("SelfSubjectAccessReviewSpec",
                M(1, "resourceAttributes", new ProtoMessage("ResourceAttributes",
                    S(1, "namespace"), S(2, "verb"), S(3, "group"), S(4, "version"), S(5, "resource"), S(6, "subresource"), S(7, "name"))),
                M(2, "nonResourceAttributes", new ProtoMessage("NonResourceAttributes", S(1, "path"), S(2, "verb")))))),
    };
}
