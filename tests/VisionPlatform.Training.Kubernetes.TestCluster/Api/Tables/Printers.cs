using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Api.Tables;

/// <summary>Which printer serves which kind: the apiserver's for the kinds that have one, else its default table.</summary>
internal static class Printers
{
    private static readonly Dictionary<ResourceType, ResourcePrinter> ByType = new()
    {
        [ResourceType.Pods] = PodPrinter.Printer,
        [ResourceType.Jobs] = JobPrinter.Printer,
        [ResourceType.Namespaces] = OtherPrinters.Namespace,
        [ResourceType.Nodes] = OtherPrinters.Node,
        [ResourceType.ConfigMaps] = OtherPrinters.ConfigMap,
        [ResourceType.Secrets] = OtherPrinters.Secret,
        [ResourceType.ServiceAccounts] = OtherPrinters.ServiceAccount,
        [ResourceType.Services] = OtherPrinters.Service,
        [ResourceType.Events] = OtherPrinters.Event,
        [ResourceType.RoleBindings] = OtherPrinters.RoleBinding,
        [ResourceType.NetworkPolicies] = OtherPrinters.NetworkPolicy,
        [ResourceType.EndpointSlices] = OtherPrinters.EndpointSlice,
        [ResourceType.Leases] = OtherPrinters.Lease,
        [ResourceType.Workloads] = Kueue.KueuePrinters.Workload,
        [ResourceType.ClusterQueues] = Kueue.KueuePrinters.ClusterQueue,
        [ResourceType.LocalQueues] = Kueue.KueuePrinters.LocalQueue,
    };

    public static ResourcePrinter For(ResourceType type) => ByType.GetValueOrDefault(type, OtherPrinters.Default);
}
