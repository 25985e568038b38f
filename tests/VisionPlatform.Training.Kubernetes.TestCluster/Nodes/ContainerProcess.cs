using System.Diagnostics;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Nodes;

/// <summary>What to run for one container: a program, its argument list, its working directory and its whole environment.</summary>
internal sealed record ContainerLaunch(
    string Program,
    IReadOnlyList<string> Arguments,
    string WorkingDirectory,
    IReadOnlyDictionary<string, string> Environment)
{
    /// <summary>Set for a simulated image: no process is started, this decides how the container runs and exits.</summary>
    public Func<Workloads.SimulatedContainerStart, Workloads.SimulatedRun>? Simulation { get; init; }

    /// <summary>An exec readinessProbe's argument list (paths mapped, inside the pod's sandbox when it has one).</summary>
    public IReadOnlyList<string>? ProbeCommand { get; init; }
}

/// <summary>
/// One container running as a local process in its own session and process group. Output lines go to the pod log;
/// stopping signals the whole group (SIGTERM, then SIGKILL after the grace period), so nothing it spawned survives.
/// </summary>
internal sealed class ContainerProcess : RunningContainer
{
    private const string SetSid = "/usr/bin/setsid";
    private readonly Process _process;
    private readonly PodLogWriter _log;
    private readonly Task<int> _exited;

    private ContainerProcess(Process process, PodLogWriter log, Task leaderExited)
    {
        _process = process;
        _log = log;
        ProcessId = process.Id;
        _exited = WaitAsync(leaderExited);
    }

    /// <summary>The pid of the container's main process, which is also its process group id.</summary>
    public int ProcessId { get; }

    /// <summary>Completes with the exit code (128 + signal when a signal ended the process).</summary>
    public override Task<int> Exited => _exited;

    public static ContainerProcess Start(ContainerLaunch launch, PodLogWriter log)
    {
        // setsid makes the program a session and group leader without forking (the caller is not a group leader),
        // so the pid we get is the program's pid and also its group id; --wait covers the case where it must fork.
        var startInfo = new ProcessStartInfo(SetSid)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = launch.WorkingDirectory,
        };
        startInfo.ArgumentList.Add("--wait");
        startInfo.ArgumentList.Add(launch.Program);
        foreach (var argument in launch.Arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment.Clear();
        foreach (var (name, value) in launch.Environment)
        {
            startInfo.Environment[name] = value;
        }

        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var leaderExited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.Exited += (_, _) => leaderExited.TrySetResult();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { log.WriteLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { log.WriteLine(e.Data); } };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new ContainerProcess(process, log, leaderExited.Task);
    }

    /// <summary>SIGTERM to the group, SIGKILL after <paramref name="gracePeriod"/> if it is still there.</summary>
    public override async Task StopAsync(TimeSpan gracePeriod, CancellationToken cancellationToken = default)
    {
        if (_exited.IsCompleted)
        {
            return;
        }

        ProcessGroup.Signal(ProcessId, ProcessGroup.SigTerm);
        var finished = await Task.WhenAny(_exited, Task.Delay(gracePeriod, cancellationToken)).ConfigureAwait(false);
        if (finished != _exited)
        {
            Kill();
        }

        await _exited.ConfigureAwait(false);
    }

    /// <summary>SIGKILL to the whole group (and the process tree).</summary>
    public override void Kill()
    {
        ProcessGroup.Signal(ProcessId, ProcessGroup.SigKill);
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // already exited
        }
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_exited.IsCompleted)
        {
            Kill();
        }

        try
        {
            await _exited.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // the group was signalled; nothing more can be done
        }

        // a daemonised grandchild may have left the group's session but not the group: signal once more
        ProcessGroup.Signal(ProcessId, ProcessGroup.SigKill);
        _process.Dispose();
        _log.Dispose();
    }

    private async Task<int> WaitAsync(Task leaderExited)
    {
        await leaderExited.ConfigureAwait(false);
        // the group may hold children that outlive the leader (and keep the output pipes open): a container ends
        // with its main process, so do they
        ProcessGroup.Signal(ProcessId, ProcessGroup.SigKill);
        await _process.WaitForExitAsync().ConfigureAwait(false);
        return _process.ExitCode;
    }
}
