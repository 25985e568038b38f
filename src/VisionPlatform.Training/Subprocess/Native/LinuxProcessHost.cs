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
        var argv = native.StringArray([spec.FileName, .. spec.Arguments]);
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
                Check(LinuxNative.FileActionsAddOpen(actions, 1, native.Utf8(spec.LogPath), LinuxNative.OWrOnly | LinuxNative.OAppend | LinuxNative.OCreat, 0x1A0 /* 0640 */), "posix_spawn_file_actions_addopen");
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
                var identity = new ProcessIdentity(pid, stat?.StartTicks ?? 0, ProcStat.BootId);
                _children[identity] = StartReaper(pid);
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
    public ProcessLiveness Probe(ProcessIdentity identity)
    {
        if (identity.BootId is not null && ProcStat.BootId is not null && identity.BootId != ProcStat.BootId)
        {
            return ProcessLiveness.Gone;
        }

        return ProcStat.Read(identity.Pid) is { } stat && stat.StartTicks == identity.StartTicks && !stat.IsZombie
            ? ProcessLiveness.Alive
            : ProcessLiveness.Gone;
    }

    /// <inheritdoc />
    public void SignalTree(ProcessIdentity identity, bool kill)
    {
        var signal = kill ? LinuxNative.SigKill : LinuxNative.SigTerm;
        if (identity.BootId is not null && ProcStat.BootId is not null && identity.BootId != ProcStat.BootId)
        {
            return;
        }

        var leader = ProcStat.Read(identity.Pid);
        if (leader is { } l && l.StartTicks != identity.StartTicks)
        {
            // The pid belongs to another process now; its group is not ours.
            return;
        }

        // Either the leader is ours (alive or a zombie), or it is gone: then any process still in group or session
        // <pid> is an orphan of our trainer, because the kernel does not reuse a pid while it names a live group.
        if (leader is not null)
        {
            _ = LinuxNative.Kill(identity.Pid, signal);
        }

        _ = LinuxNative.Kill(-identity.Pid, signal);
        foreach (var member in ProcStat.FindSessionMembers(identity.Pid))
        {
            _ = LinuxNative.Kill(member, signal);
        }

    }

    /// <inheritdoc />
    public Task WaitForTreeExitAsync(ProcessIdentity identity, CancellationToken cancellationToken = default) =>
        WaitForTreeExitAsync(identity.Pid, cancellationToken);

    private static async Task WaitForTreeExitAsync(int id, CancellationToken cancellationToken = default)
    {
        // Real processes die in real time: the wait is on the system clock, bounded by LeftoverExitWait.
        var time = TimeProvider.System;
        var started = time.GetTimestamp();
        while (ProcStat.FindSessionMembers(id).Any(pid => ProcStat.Read(pid) is { IsZombie: false }) &&
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

    private static Task<ChildExit> StartReaper(int pid)
    {
        var completion = new TaskCompletionSource<ChildExit>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() => Reap(pid, completion))
        {
            IsBackground = true,
            Name = "vp-training-reaper-" + pid,
        };
        thread.Start();
        return completion.Task;
    }

    private static void Reap(int pid, TaskCompletionSource<ChildExit> completion)
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
            WaitForTreeExitAsync(pid).GetAwaiter().GetResult();

            // 3. Reap for the exact exit status.
            int status;
            int rc;
            while ((rc = LinuxNative.WaitPid(pid, out status, 0)) < 0 && Marshal.GetLastPInvokeError() == LinuxNative.EIntr)
            {
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
