namespace VisionPlatform.Training.Kubernetes.TestCluster.Api;

/// <summary>One permission: verbs on resources of a group, in a namespace (or all namespaces).</summary>
/// <param name="Verbs">Verbs allowed (<c>*</c> for all).</param>
/// <param name="Resources">Plural resources, optionally with a subresource (<c>pods/log</c>); <c>*</c> for all.</param>
/// <param name="Group">API group ("" for core, <c>*</c> for all).</param>
/// <param name="Namespace">Namespace the rule applies to; null for every namespace and cluster-scoped requests.</param>
public sealed record AccessRule(IReadOnlyList<string> Verbs, IReadOnlyList<string> Resources, string Group = "*", string? Namespace = null)
{
    internal bool Matches(string verb, string group, string resource, string? subresource, string? ns)
    {
        var full = string.IsNullOrEmpty(subresource) ? resource : $"{resource}/{subresource}";
        return (Namespace is null || Namespace == ns)
            && (Group == "*" || Group == group)
            && (Verbs.Contains("*") || Verbs.Contains(verb))
            && (Resources.Contains("*") || Resources.Contains(full));
    }
}

/// <summary>
/// What the test cluster's user may do: a list of allow rules, like an RBAC Role. Anything no rule allows is denied.
/// SelfSubjectAccessReview answers from it and the API server enforces it with 403 Forbidden.
/// </summary>
public sealed class AccessPolicy
{
    /// <summary>Creates a policy from allow rules.</summary>
    public AccessPolicy(IEnumerable<AccessRule> rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        Rules = [.. rules];
    }

    /// <summary>The allow rules.</summary>
    public IReadOnlyList<AccessRule> Rules { get; }

    /// <summary>Whether the verb on the resource in the namespace is allowed.</summary>
    public bool Allows(string verb, string group, string resource, string? subresource, string? ns) =>
        Rules.Any(r => r.Matches(verb, group, resource, subresource, ns));
}
