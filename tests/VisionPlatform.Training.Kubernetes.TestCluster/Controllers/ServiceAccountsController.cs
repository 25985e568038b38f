using VisionPlatform.Training.Kubernetes.TestCluster.Admission;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Controllers;

/// <summary>
/// The ServiceAccounts controller: every active namespace has a <c>default</c> ServiceAccount, created with the
/// namespace and re-created when deleted.
/// </summary>
public sealed class ServiceAccountsController : ReconcilingComponent
{

    /// <summary>Creates the component.</summary>
    public ServiceAccountsController()
        : base("serviceaccount-controller")
    {
    }

    /// <inheritdoc />
    protected override IReadOnlyList<ResourceType> WatchedTypes { get; } = [ResourceType.Namespaces, ResourceType.ServiceAccounts];

    /// <inheritdoc />
    protected override Task<TimeSpan?> ReconcileAsync(CancellationToken cancellationToken)
    {
        var store = Context.Store;
        foreach (var ns in store.List(ResourceType.Namespaces, null).Items.Where(n => !n.HasDeletionTimestamp()))
        {
            if (store.Get(ResourceType.ServiceAccounts, ns.Name(), ServiceAccountAdmission.DefaultName) is null)
            {
                ServiceAccountAdmission.EnsureDefault(store, ns.Name());
            }
        }

        return Task.FromResult<TimeSpan?>(null);
    }
}
