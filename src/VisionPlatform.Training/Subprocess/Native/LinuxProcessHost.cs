using System.Collections.Concurrent;
using System.ComponentModel;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace VisionPlatform.Training.Subprocess.Native;

/// <summary>
/// Launches trainers with glibc <c>posix_spawn</c>: a new session (<c>POSIX_SPAWN_SETSID</c>), so the trainer leads
/// its own session and process group; stdout and stderr opened straight onto <c>train.log</c> in append mode (fd 2 is
/// a dup of fd 1, so the order of the two streams is exact); stdin from <c>/dev/null</c>; the run directory as working
/// directory; an explicit environment; host file descriptors above 2 closed. Nothing is pumped through .NET, so the
/// trainer keeps logging when the host dies. Each child is reaped by a blocking <c>waitpid</c> on its own thread:
/// the .NET runtime only reaps children it started itself.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class LinuxProcessHost : IProcessHost
{
    /// <summary>
    /// How long a SIGKILL of a trainer's leftovers waits for them to be gone. SIGKILL cannot be refused, but the kernel
    /// ends a process only when it next runs (later on a loaded machine, or after an uninterruptible wait).
    /// </summary>
    private static readonly TimeSpan LeftoverExitWait = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<ProcessIdentity, Task<ChildExit>> _children = new();
    private int _closeFromSupported = 1;

    /// <inheritdoc />
    public string Mechanism => "posix_spawn (new session)";

    /// <inheritdoc />
    public ProcessIdentity Launch(LaunchSpec spec)
    {
        using var native = new NativeBuffers();
        var path = native.Utf8(spec.FileName);

        // With a status path the trainer runs under the per-run supervisor (its parent, the session leader), which
        // outlives the host and records the exit status in the run directory.
        var supervised = spec.StatusPath is not null;
        var arguments = supervised
            ? RunSupervisor.Arguments(RunSupervisor.WriteTo(spec.WorkingDirectory), spec.StatusPath!, spec.FileName, spec.Arguments)
            : [.. spec.Arguments];
        var argv = native.StringArray([spec.FileName, .. arguments]);
        var envp = native.StringArray(spec.Environment.Select(p => p.Key + "=" + p.Value).ToArray());
        var actions = native.Alloc(LinuxNative.OpaqueStructSize);
        var attributes = native.Alloc(LinuxNative.OpaqueStructSize);
        var emptySet = native.Alloc(LinuxNative.OpaqueStructSize);
        var fullSet = native.Alloc(LinuxNative.OpaqueStructSize);

        Check(LinuxNative.FileActionsInit(actions), "posix_spawn_file_actions_init");
        try
        {
            Check(LinuxNative.AttrInit(attributes), "posix_spawnattr_init");
            try
            {
                if (SafeFiles.CheckAbsentOrRegular(spec.LogPath) is { } problem)
                {
                    throw new NotRegularFileException(problem + "; the trainer's log is not written through it.");
                }

                // No symbolic link is followed and a FIFO fails at once (O_NONBLOCK) instead of blocking the spawn.
                var logFlags = LinuxNative.OWrOnly | LinuxNative.OAppend | LinuxNative.OCreat | LinuxNative.ONoFollow | LinuxNative.ONonBlock;
                Check(LinuxNative.FileActionsAddOpen(actions, 1, native.Utf8(spec.LogPath), logFlags, 0x180 /* 0600 */), "posix_spawn_file_actions_addopen");
                Check(LinuxNative.FileActionsAddDup2(actions, 1, 2), "posix_spawn_file_actions_adddup2");
                Check(LinuxNative.FileActionsAddOpen(actions, 0, native.Utf8("/dev/null"), LinuxNative.ORdOnly, 0), "posix_spawn_file_actions_addopen");
                Check(LinuxNative.FileActionsAddChdir(actions, native.Utf8(spec.WorkingDirectory)), "posix_spawn_file_actions_addchdir_np");
                AddCloseFrom(actions);

                // Signal dispositions and the mask are inherited through exec; the runtime ignores SIGPIPE, for example.
                // The trainer starts with every signal at its default and none blocked, as from a shell.
                _ = LinuxNative.SigEmptySet(emptySet);
                _ = LinuxNative.SigFillSet(fullSet);
                Check(LinuxNative.AttrSetSigMask(attributes, emptySet), "posix_spawnattr_setsigmask");
                Check(LinuxNative.AttrSetSigDefault(attributes, fullSet), "posix_spawnattr_setsigdefault");
                Check(LinuxNative.AttrSetFlags(attributes, LinuxNative.PosixSpawnSetSid | LinuxNative.PosixSpawnSetSigMask | LinuxNative.PosixSpawnSetSigDef), "posix_spawnattr_setflags");

                var rc = LinuxNative.PosixSpawn(out var pid, path, actions, attributes, argv, envp);
                if (rc != 0)
                {
                    throw new Win32Exception(rc, $"posix_spawn of '{spec.FileName}' failed: {new Win32Exception(rc).Message}");
                }

                // The child is ours and unreaped, so its /proc entry exists even if it already exited.
                var stat = ProcStat.Read(pid);
                var identity = new ProcessIdentity(pid, stat?.StartTicks ?? 0, ProcStat.BootId, spec.Marker);
                _children[identity] = StartReaper(pid, spec.StatusPath);
                return identity;
            }
            finally
            {
                _ = LinuxNative.AttrDestroy(attributes);
            }
        }
        finally
        {
            _ = LinuxNative.FileActionsDestroy(actions);
        }
    }

    /// <inheritdoc />
    public Task<ChildExit>? TryGetExit(ProcessIdentity identity) =>
        _children.TryGetValue(identity, out var exit) ? exit : null;

    /// <inheritdoc />
    public ProcessLiveness Probe(ProcessIdentity identity) =>
        IsProvenLeader(identity) ? ProcessLiveness.Alive : ProcessLiveness.Gone;

    /// <inheritdoc />
    public void SignalTree(ProcessIdentity identity, bool kill)
    {
        var signal = kill ? LinuxNative.SigKill : LinuxNative.SigTerm;
        if (!IsSameBoot(identity))
        {
            // pid 0 would be our own process group, 1 (or -1) every process we may signal, -N the group N: a pid read
            // from disk is signalled only when it is a real pid of this boot.
            return;
        }

        var leaderIsOurs = IsUnreapedChild(identity) || IsProvenLeader(identity);
        if (leaderIsOurs)
        {
            // The leader is the run's (a child we have not reaped, or pid, start time and marker match), so its
            // process group is the run's too.
            _ = LinuxNative.Kill(identity.Pid, signal);
            _ = LinuxNative.Kill(-identity.Pid, signal);
        }

        // Survivors of the session (or group) are signalled only when they prove to be the run's: they carry its marker.
        foreach (var member in ProcStat.FindSessionMembers(identity.Pid))
        {
            if (member > 1 && RunMarker.Carries(member, identity.Marker))
            {
                _ = LinuxNative.Kill(member, signal);
            }
        }
    }

    /// <inheritdoc />
    public Task WaitForTreeExitAsync(ProcessIdentity identity, CancellationToken cancellationToken = default)
    {
        if (!IsSameBoot(identity))
        {
            return Task.CompletedTask;
        }

        // Only what SignalTree may have killed is waited for: the whole session of an unreaped child of ours, else
        // the members that carry the run's marker.
        var everyMember = IsUnreapedChild(identity);
        return WaitForTreeExitAsync(identity.Pid, pid => everyMember || RunMarker.Carries(pid, identity.Marker), cancellationToken);
    }

    private static async Task WaitForTreeExitAsync(int id, Func<int, bool> counts, CancellationToken cancellationToken = default)
    {
        // Real processes die in real time: the wait is on the system clock, bounded by LeftoverExitWait.
        var time = TimeProvider.System;
        var started = time.GetTimestamp();
        while (ProcStat.FindSessionMembers(id).Any(pid => ProcStat.Read(pid) is { IsZombie: false } && counts(pid)) &&
               time.GetElapsedTime(started) < LeftoverExitWait)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(10), time, cancellationToken).ConfigureAwait(false);
        }
    }

    private void AddCloseFrom(IntPtr actions)
    {
        if (Volatile.Read(ref _closeFromSupported) == 0)
        {
            return;
        }

        try
        {
            // glibc 2.34+: no host descriptor (sockets, files without O_CLOEXEC) leaks into the trainer.
            _ = LinuxNative.FileActionsAddCloseFrom(actions, 3);
        }
        catch (EntryPointNotFoundException)
        {
            Volatile.Write(ref _closeFromSupported, 0);
        }
    }

    /// <summary>Whether a pid recorded on disk is a real process id of this boot (greater than 1, same boot id).</summary>
    private static bool IsSameBoot(ProcessIdentity identity) =>
        identity.Pid > 1 && identity.BootId is { Length: > 0 } boot && ProcStat.BootId is { } current && boot == current;

    /// <summary>The recorded process is alive and proven to be the run's: same boot, same start time, the run's marker.</summary>
    private static bool IsProvenLeader(ProcessIdentity identity) =>
        IsSameBoot(identity) &&
        ProcStat.Read(identity.Pid) is { IsZombie: false } stat &&
        stat.StartTicks == identity.StartTicks &&
        RunMarker.Carries(identity.Pid, identity.Marker);

    /// <summary>A child this OS process launched and has not reaped: its pid (and group) cannot have been reused.</summary>
    private bool IsUnreapedChild(ProcessIdentity identity) =>
        _children.TryGetValue(identity, out var exit) && !exit.IsCompleted &&
        ProcStat.Read(identity.Pid) is { } stat && stat.StartTicks == identity.StartTicks;

    private static Task<ChildExit> StartReaper(int pid, string? statusPath)
    {
        var completion = new TaskCompletionSource<ChildExit>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() => Reap(pid, statusPath, completion))
        {
            IsBackground = true,
            Name = "vp-training-reaper-" + pid,
        };
        thread.Start();
        return completion.Task;
    }

    private static void Reap(int pid, string? statusPath, TaskCompletionSource<ChildExit> completion)
    {
        try
        {
            // 1. Wait until the trainer has exited, but leave it a zombie: while it is unreaped its pid (and so its
            //    process group id) cannot be reused, so killing the group below can only hit its own leftovers.
            var info = Marshal.AllocHGlobal(LinuxNative.OpaqueStructSize);
            try
            {
                while (LinuxNative.WaitId(LinuxNative.PPid, pid, info, LinuxNative.WExited | LinuxNative.WNoWait) != 0 &&
                       Marshal.GetLastPInvokeError() == LinuxNative.EIntr)
                {
                }
            }
            finally
            {
                Marshal.FreeHGlobal(info);
            }

            // 2. Orphaned data-loader workers and anything else left in the trainer's group or session; the exit is
            //    reported once they are gone.
            _ = LinuxNative.Kill(-pid, LinuxNative.SigKill);
            foreach (var member in ProcStat.FindSessionMembers(pid))
            {
                _ = LinuxNative.Kill(member, LinuxNative.SigKill);
            }

            // This is the child's dedicated reaper thread: blocking on the bounded wait is its job.
            WaitForTreeExitAsync(pid, _ => true).GetAwaiter().GetResult();

            // 3. Reap for the exact exit status.
            int status;
            int rc;
            while ((rc = LinuxNative.WaitPid(pid, out status, 0)) < 0 && Marshal.GetLastPInvokeError() == LinuxNative.EIntr)
            {
            }

            // The supervisor's record is the trainer's own exit; without one (the supervisor was killed with the
            // trainer's group, or could not start it) the supervisor's status is all there is.
            if (statusPath is not null && RunSupervisor.TryRead(statusPath) is { } recorded)
            {
                completion.TrySetResult(recorded);
                return;
            }

            if (rc < 0)
            {
                completion.TrySetResult(new ChildExit(null, null));
                return;
            }

            var signal = status & 0x7f;
            completion.TrySetResult(signal == 0
                ? new ChildExit((status >> 8) & 0xff, null)
                : new ChildExit(null, signal));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            completion.TrySetException(e);
        }
    }

    private static void Check(int rc, string call)
    {
        if (rc != 0)
        {
            throw new Win32Exception(rc, $"{call} failed: {new Win32Exception(rc).Message}");
        }
    }
}
