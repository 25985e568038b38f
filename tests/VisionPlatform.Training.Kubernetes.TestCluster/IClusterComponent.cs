namespace VisionPlatform.Training.Kubernetes.TestCluster;

/// <summary>
/// A part of the test cluster that runs next to the API server (a controller, the scheduler, the node agent).
/// Components work on <see cref="ClusterContext.Store"/> directly, as in-process controllers of a real control
/// plane work on the apiserver's storage through watches. Disposing stops it and everything it started.
/// </summary>
public interface IClusterComponent : IAsyncDisposable
{
    /// <summary>Starts the component; returns once it is running.</summary>
    Task StartAsync(ClusterContext context, CancellationToken cancellationToken = default);
}
