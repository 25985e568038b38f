using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Validation;

/// <summary>Pods: pod spec defaults and validation, status Pending on create.</summary>
internal sealed class PodStrategy(KubernetesTestClusterOptions options) : GenericStrategy(ResourceType.Pods, NameRules.Dns1123Subdomain, hasStatus: true)
{
    public KubernetesTestClusterOptions Options { get; } = options;
}
