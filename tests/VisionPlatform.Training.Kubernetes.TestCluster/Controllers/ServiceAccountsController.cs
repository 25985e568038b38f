using Microsoft.Extensions.Logging;
using VisionPlatform.Training.Kubernetes.TestCluster.Admission;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Controllers;

/// <summary>
/// The ServiceAccounts controller: every active namespace has a <c>default</c> ServiceAccount, created with the
/// namespace and re-created when deleted.
/// </summary>
public sealed class ServiceAccountsController : IClusterComponent
{
    private ReconcileLoop? _loop;
    private ClusterContext? _context;

    /// <inheritdoc />
    public Task StartAsync(ClusterContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        _context = context;
        _loop = new ReconcileLoop(
            "serviceaccount-controller", context.Store, [ResourceType.Namespaces, ResourceType.ServiceAccounts], ReconcileAsync,
            context.Options.Workloads.ResyncInterval, context.LoggerFactory.CreateLogger<ServiceAccountsController>(),
            context.Options.Workloads.MinReconcileInterval);
        _loop.Start();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_loop is not null)
        {
            await _loop.DisposeAsync().ConfigureAwait(false);
        }
    }

    private Task<TimeSpan?> ReconcileAsync(CancellationToken cancellationToken)
    {
        var store = _context!.Store;
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
