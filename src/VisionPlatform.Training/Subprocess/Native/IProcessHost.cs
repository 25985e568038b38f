namespace VisionPlatform.Training.Subprocess.Native;

/// <summary>Everything the executor needs to launch a trainer: the program, its arguments, environment and files.</summary>
/// <param name="FileName">The absolute path of the program (the interpreter).</param>
/// <param name="Arguments">argv[1..]: the script, then the contract's arguments, each one element.</param>
/// <param name="Environment">The complete child environment; nothing else of the host's environment is added.</param>
/// <param name="WorkingDirectory">The run directory.</param>
/// <param name="LogPath">The log file; stdout and stderr both go there.</param>
/// <param name="Marker">The run's marker: the value of <see cref="RunMarker.Variable"/> in <paramref name="Environment"/>.</param>
/// <param name="StatusPath">Where the per-run supervisor records the trainer's exit status (Linux).</param>
/// <param name="ConfigFile">A config file to write before the launch, when the contract passes the config as a file.</param>
internal sealed record LaunchSpec(
    string FileName,
    IReadOnlyList<string> Arguments,
    IReadOnlyList<KeyValuePair<string, string>> Environment,
    string WorkingDirectory,
    string LogPath,
    string? Marker = null,
    string? StatusPath = null,
    LaunchFile? ConfigFile = null);

/// <summary>A file the launch writes into the run directory first (owner-only, 0600), for example a config too large for one argument.</summary>
/// <param name="Path">The file.</param>
/// <param name="Content">Its text.</param>
internal sealed record LaunchFile(string Path, string Content)
{
    /// <summary>Never the content (it may be large, and it is the job's).</summary>
    public override string ToString() => "LaunchFile { Path = " + Path + " }";
}

/// <summary>Identifies one process across pid reuse and reboots: pid, start time (clock ticks since boot) and boot id.</summary>
/// <param name="Pid">The process id (also its process group and session id).</param>
/// <param name="StartTicks">Field 22 of <c>/proc/&lt;pid&gt;/stat</c> (or the start time's ticks on other systems).</param>
/// <param name="BootId">The kernel boot id when the process started, when known.</param>
/// <param name="Marker">The run's marker in the process's environment (<see cref="RunMarker.Variable"/>), when known.</param>
internal readonly record struct ProcessIdentity(int Pid, long StartTicks, string? BootId, string? Marker = null);

/// <summary>How a child ended: an exit code, or the signal that killed it.</summary>
/// <param name="ExitCode">The exit code when it exited normally.</param>
/// <param name="Signal">The signal number when a signal killed it.</param>
internal sealed record ChildExit(int? ExitCode, int? Signal)
{
    /// <summary>The shell convention: the exit code, or 128 + signal.</summary>
    public int CombinedCode => ExitCode ?? 128 + (Signal ?? 0);
}

/// <summary>What a probe found out about a recorded process.</summary>
internal enum ProcessLiveness
{
    /// <summary>The same process (pid and start time match) is running.</summary>
    Alive,

    /// <summary>It has ended (it may still be an unreaped zombie), or the pid now belongs to another process.</summary>
    Gone,
}

/// <summary>The operating-system side of the executor: launch, reap, probe and signal trainer process trees.</summary>
internal interface IProcessHost
{
    /// <summary>Launches the trainer in its own session and process group.</summary>
    /// <param name="spec">What to run.</param>
    /// <returns>The child's identity.</returns>
    ProcessIdentity Launch(LaunchSpec spec);

    /// <summary>
    /// The exit of a child this OS process launched (and therefore reaps), or <see langword="null"/> when it is not ours.
    /// Exit tasks are process-wide, so a second executor instance in the same process observes exact exit codes too.
    /// </summary>
    /// <param name="identity">The child.</param>
    /// <returns>A task that completes when the child has exited and its orphans are killed.</returns>
    Task<ChildExit>? TryGetExit(ProcessIdentity identity);

    /// <summary>Whether a recorded process still runs.</summary>
    /// <param name="identity">The recorded identity.</param>
    /// <returns>The liveness.</returns>
    ProcessLiveness Probe(ProcessIdentity identity);

    /// <summary>
    /// Sends a signal to the child's whole process group and session; safe when it is already gone. Nothing is signalled
    /// unless the process is proven to be the run's: pid greater than 1, the same boot, the same start time and the run's
    /// marker in its environment (or a child this OS process launched and has not reaped); survivors of the session are
    /// signalled only when they carry the run's marker.
    /// </summary>
    /// <param name="identity">The child.</param>
    /// <param name="kill"><see langword="true"/> for SIGKILL, <see langword="false"/> for SIGTERM.</param>
    void SignalTree(ProcessIdentity identity, bool kill);

    /// <summary>
    /// Waits (bounded) until no process of the child's group or session but the leader runs any more, after a
    /// <see cref="SignalTree"/> with SIGKILL, so a run is reported ended only when its whole tree is: its GPU memory and
    /// files are free for the next run.
    /// </summary>
    /// <param name="identity">The child.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when the tree is gone or the bound has passed.</returns>
    Task WaitForTreeExitAsync(ProcessIdentity identity, CancellationToken cancellationToken = default);

    /// <summary>Human-readable name of the mechanism, for diagnostics.</summary>
    string Mechanism { get; }
}

/// <summary>Chooses the process host for this platform.</summary>
internal static class ProcessHosts
{
    private static readonly Lazy<IProcessHost> Instance = new(() =>
        OperatingSystem.IsLinux() ? new LinuxProcessHost() : new DotNetProcessHost());

    private static readonly AsyncLocal<IProcessHost?> Scoped = new();

    /// <summary>The process-wide host (reaping is process-wide, so there is exactly one), unless a scope set another.</summary>
    public static IProcessHost Current => Scoped.Value ?? Instance.Value;

    /// <summary>
    /// For tests: executors created in the returned scope (the current async flow) get a process host of their own that
    /// knows none of this process's children, as the host of a new OS process would (a restarted host).
    /// </summary>
    /// <returns>Ends the scope.</returns>
    internal static IDisposable BeginNewHostScope()
    {
        var previous = Scoped.Value;
        Scoped.Value = OperatingSystem.IsLinux() ? new LinuxProcessHost() : new DotNetProcessHost();
        return new Scope(previous);
    }

    private sealed class Scope(IProcessHost? previous) : IDisposable
    {
        public void Dispose() => Scoped.Value = previous;
    }
}
