using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Validation;

/// <summary>batch/v1 Jobs: defaults, selector generation and validation.</summary>
internal sealed class JobStrategy(KubernetesTestClusterOptions options) : GenericStrategy(ResourceType.Jobs, NameRules.Dns1123Subdomain, hasStatus: true)
{
    public KubernetesTestClusterOptions Options { get; } = options;
}
