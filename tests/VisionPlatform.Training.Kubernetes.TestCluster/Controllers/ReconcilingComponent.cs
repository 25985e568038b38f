using Microsoft.Extensions.Logging;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Controllers;

/// <summary>
/// A component that is one level-triggered reconcile loop (<see cref="ReconcileLoop"/>), as the control plane's
/// informer-based controllers are: a change to any of <see cref="WatchedTypes"/>, a <see cref="Kick"/>, the delay a pass
/// asks for or the periodic resync starts a pass of <see cref="ReconcileAsync"/> over the whole current state.
/// Subclasses say what they watch and what a pass does; starting, resync settings and stopping live here once.
/// </summary>
public abstract class ReconcilingComponent : IClusterComponent
{
    private readonly string _name;
    private ReconcileLoop? _loop;
    private ClusterContext? _context;

    /// <summary>Creates the component.</summary>
    /// <param name="name">The controller's name, as upstream names it (for example <c>job-controller</c>); used in logs.</param>
    protected ReconcilingComponent(string name) => _name = name;

    /// <summary>The cluster this component runs in (set when it starts).</summary>
    protected ClusterContext Context => _context ?? throw new InvalidOperationException($"{_name} has not been started.");

    /// <summary>The component's logger (set when it starts).</summary>
    protected ILogger Logger { get; private set; } = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    /// <summary>The types whose changes start a pass.</summary>
    protected abstract IReadOnlyList<ResourceType> WatchedTypes { get; }

    /// <inheritdoc />
    public Task StartAsync(ClusterContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        _context = context;
        Logger = context.LoggerFactory.CreateLogger(GetType());
        OnStarting(context);
        _loop = new ReconcileLoop(
            _name, context.Store, WatchedTypes, ReconcileAsync, context.Options.Workloads.ResyncInterval, Logger, context.Options.Workloads.MinReconcileInterval);
        _loop.Start();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_loop is not null)
        {
            OnStopping();
            await _loop.DisposeAsync().ConfigureAwait(false);
        }

        await OnStoppedAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    /// <summary>Asks for a pass soon (for changes no watched type shows, such as a node's).</summary>
    protected void Kick() => _loop?.Kick();

    /// <summary>One pass over the current state.</summary>
    /// <returns>When to run again at the latest (a deadline, a back-off), or <see langword="null"/> for the resync only.</returns>
    protected abstract Task<TimeSpan?> ReconcileAsync(CancellationToken cancellationToken);

    /// <summary>Runs before the loop starts: create what passes use, subscribe to other change signals.</summary>
    protected virtual void OnStarting(ClusterContext context)
    {
    }

    /// <summary>Runs before the loop stops (the last pass may still be running): unsubscribe from change signals.</summary>
    protected virtual void OnStopping()
    {
    }

    /// <summary>Runs after the loop stopped: stop what the passes started.</summary>
    protected virtual ValueTask OnStoppedAsync() => ValueTask.CompletedTask;
}
