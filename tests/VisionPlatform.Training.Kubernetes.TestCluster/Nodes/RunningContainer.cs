namespace VisionPlatform.Training.Kubernetes.TestCluster.Nodes;

/// <summary>
/// A started container as the pod worker supervises it: a local process (<see cref="ContainerProcess"/>) or a
/// simulated one (<see cref="SimulatedContainer"/>). It ends with an exit code; it can be stopped gracefully or killed.
/// </summary>
internal abstract class RunningContainer : IAsyncDisposable
{
    /// <summary>Completes with the exit code (128 + signal when a signal ended it).</summary>
    public abstract Task<int> Exited { get; }

    /// <summary>True once the container was killed to simulate the kernel's OOM killer.</summary>
    public bool OomKilled { get; protected set; }

    /// <summary>SIGTERM, then SIGKILL after <paramref name="gracePeriod"/> if it is still running.</summary>
    public abstract Task StopAsync(TimeSpan gracePeriod, CancellationToken cancellationToken = default);

    /// <summary>Simulates the OOM killer: SIGKILL, reported as OOMKilled.</summary>
    public void KillAsOutOfMemory()
    {
        OomKilled = true;
        Kill();
    }

    /// <summary>SIGKILL.</summary>
    public abstract void Kill();

    /// <summary>Kills the container if it still runs and releases what it holds (its log).</summary>
    public abstract ValueTask DisposeAsync();
}
