using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Nodes;

/// <summary>
/// A container of a simulated image: no process, just a timer on the cluster's clock that ends it with the planned exit
/// code. SIGTERM ends it at once with 143 (as a trainer that handles SIGTERM by exiting), SIGKILL with 137.
/// </summary>
internal sealed class SimulatedContainer : RunningContainer
{
    private const int ExitOnSigTerm = 143;
    private const int ExitOnSigKill = 137;
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly PodLogWriter _log;
    private readonly ITimer _timer;

    private SimulatedContainer(SimulatedRun run, PodLogWriter log, TimeProvider time)
    {
        _log = log;
        foreach (var line in run.Output)
        {
            log.WriteLine(line);
        }

        _timer = time.CreateTimer(static state => ((SimulatedContainer)state!).End(), this, run.RunTime, Timeout.InfiniteTimeSpan);
        ExitCode = run.ExitCode;
    }

    /// <inheritdoc />
    public override Task<int> Exited => _exited.Task;

    private int ExitCode { get; }

    public static SimulatedContainer Start(SimulatedRun run, PodLogWriter log, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentOutOfRangeException.ThrowIfLessThan(run.RunTime, TimeSpan.Zero, "run.RunTime");
        return new SimulatedContainer(run, log, time);
    }

    /// <inheritdoc />
    public override Task StopAsync(TimeSpan gracePeriod, CancellationToken cancellationToken = default)
    {
        End(ExitOnSigTerm);
        return _exited.Task;
    }

    /// <inheritdoc />
    public override void Kill() => End(ExitOnSigKill);

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        Kill();
        await _timer.DisposeAsync().ConfigureAwait(false);
        _log.Dispose();
    }

    private void End() => End(ExitCode);

    private void End(int exitCode)
    {
        if (_exited.TrySetResult(exitCode))
        {
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }
}
