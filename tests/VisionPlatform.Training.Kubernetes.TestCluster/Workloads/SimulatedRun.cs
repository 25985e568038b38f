namespace VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

/// <summary>
/// What a container of a simulated image (<see cref="ImageMapping.Simulated(Func{SimulatedContainerStart, SimulatedRun})"/>)
/// does: it writes <see cref="Output"/> to its log, runs for <see cref="RunTime"/> without any local process, then exits
/// with <see cref="ExitCode"/>. Deletion (SIGTERM) ends it at once with 143, a kill with 137.
/// </summary>
/// <param name="RunTime">How long the container runs, on the cluster's clock.</param>
/// <param name="ExitCode">The exit code it ends with (0: Completed, anything else: Error).</param>
public sealed record SimulatedRun(TimeSpan RunTime, int ExitCode = 0)
{
    /// <summary>Lines written to the container's log when it starts.</summary>
    public IReadOnlyList<string> Output { get; init; } = [];
}

/// <summary>What a simulated container is started with, as a process would see it.</summary>
/// <param name="Image">The container's image.</param>
/// <param name="Arguments">The argv after the mapping's rewrite (command and args, volume paths mapped).</param>
/// <param name="Environment">The container's environment, resolved as the kubelet resolves it.</param>
public sealed record SimulatedContainerStart(string Image, IReadOnlyList<string> Arguments, IReadOnlyDictionary<string, string> Environment);
