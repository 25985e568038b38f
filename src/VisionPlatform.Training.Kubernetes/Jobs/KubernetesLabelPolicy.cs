namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Which label keys a job's own labels (<see cref="TrainingJobConfig.Labels"/>) may use on Kubernetes. The labels go on the
/// Job and on its pods, where Services, NetworkPolicies, PodDisruptionBudgets, admission webhooks (sidecar injection,
/// policy exemptions) and the SDK's own list queries select by label; a caller-chosen key there could make a training
/// pod match a selector meant for something else. Refused keys are reported when the Job is built, before any request,
/// each with the rule it breaks. See docs/security.md, section "Kubernetes".
/// </summary>
internal static class KubernetesLabelPolicy
{
    /// <summary>Unprefixed keys that Services, NetworkPolicies and charts commonly select pods by.</summary>
    public static IReadOnlySet<string> SelectorKeys { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "app", "name", "component", "role", "tier", "release", "instance",
    };

    /// <summary>
    /// Label key prefixes (DNS domains) that are refused, with their subdomains: Kubernetes' own, the SDK's, and those of
    /// widespread service meshes and admission controllers whose labels change how a pod is treated.
    /// </summary>
    public static IReadOnlyList<string> RefusedPrefixDomains { get; } =
    [
        "kubernetes.io", "k8s.io", "visionplatform.io", "istio.io", "linkerd.io", "kyverno.io", "gatekeeper.sh", "cilium.io", "kueue.x-k8s.io",
    ];

    /// <summary>Why a job label key is refused on Kubernetes, or <see langword="null"/> when it may be used.</summary>
    public static string? Check(string key)
    {
        if (KubernetesLabels.Reserved.Contains(key))
        {
            return "is a label the Kubernetes executor sets itself (or the Job controller reserves); use another key";
        }

        var slash = key.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return SelectorKeys.Contains(key)
                ? $"is refused: unprefixed keys that Services and NetworkPolicies commonly select pods by ({string.Join(", ", SelectorKeys)}) could make a training pod match another workload's selector; use a key of your own, for example 'example.com/{key}'"
                : null;
        }

        var prefix = key[..slash].ToLowerInvariant();
        foreach (var domain in RefusedPrefixDomains)
        {
            if (prefix == domain || prefix.EndsWith("." + domain, StringComparison.Ordinal))
            {
                return $"is refused: the prefix '{prefix}/' belongs to {Owner(domain)} (refused prefixes and their subdomains: {string.Join(", ", RefusedPrefixDomains.Select(d => d + "/"))}); use a prefix of your own";
            }
        }

        return null;
    }

    private static string Owner(string domain) => domain switch
    {
        "kubernetes.io" or "k8s.io" => "Kubernetes (reserved for its components, selectors and admission)",
        "visionplatform.io" => "the training SDK itself",
        "kueue.x-k8s.io" => "Kueue, whose queue and priority labels the SDK sets on the Job from KubernetesJobOptions.QueueName/WorkloadPriorityClass and Training:Kubernetes:Kueue (on pods they would not queue anything)",
        _ => "a service mesh or admission controller whose labels change how pods are treated",
    };
}
