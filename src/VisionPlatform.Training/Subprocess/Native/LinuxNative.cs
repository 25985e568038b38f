using System.Runtime.InteropServices;

namespace VisionPlatform.Training.Subprocess.Native;

/// <summary>
/// The glibc calls the Linux launcher needs. Only blittable parameters (pointers and integers) are used, so no
/// marshalling happens (plain DllImport, no unsafe code) and every string is encoded to UTF-8 by the caller, byte for byte.
/// </summary>
internal static class LinuxNative
{
    private const string Libc = "libc";

    // <fcntl.h> (x86-64 and aarch64 share these values)
    internal const int ORdOnly = 0x0;
    internal const int OWrOnly = 0x1;
    internal const int OCreat = 0x40;
    internal const int OAppend = 0x400;
    internal const int ONonBlock = 0x800;
    internal const int OCloExec = 0x80000;

    // <sys/stat.h>, <fcntl.h> (statx)
    internal const int AtFdCwd = -100;
    internal const int AtSymlinkNoFollow = 0x100;
    internal const int AtEmptyPath = 0x1000;
    internal const uint StatxBasicStats = 0x7ff;
    internal const int StatxUidOffset = 20;
    internal const int StatxModeOffset = 28;
    internal const int StatxSize = 256;
    internal const int SIfMt = 0xF000;
    internal const int SIfReg = 0x8000;
    internal const int SIfDir = 0x4000;
    internal const int SIfLnk = 0xA000;

    // <spawn.h> (glibc)
    internal const short PosixSpawnSetSigDef = 0x04;
    internal const short PosixSpawnSetSigMask = 0x08;
    internal const short PosixSpawnSetSid = 0x80;

    // <sys/wait.h>
    internal const int PPid = 1;
    internal const int WExited = 4;
    internal const int WNoWait = 0x01000000;

    // <signal.h>
    internal const int SigKill = 9;
    internal const int SigTerm = 15;

    // <errno.h>
    internal const int EIntr = 4;
    internal const int ESrch = 3;
    internal const int EChild = 10;
    internal const int ENoEnt = 2;
    internal const int ENotDir = 20;
    internal const int ELoop = 40;

    /// <summary><c>O_NOFOLLOW</c>: 0x20000 on x86-64, 0x8000 on aarch64 and arm.</summary>
    internal static int ONoFollow =>
        RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x8000 : 0x20000;

    /// <summary>Generous sizes for glibc's opaque structs (posix_spawn_file_actions_t is 80 bytes, posix_spawnattr_t 336, siginfo_t 128, sigset_t 128).</summary>
    internal const int OpaqueStructSize = 1024;

    [DllImport(Libc, EntryPoint = "posix_spawn", SetLastError = true, ExactSpelling = true)]
    internal static extern int PosixSpawn(out int pid, IntPtr path, IntPtr fileActions, IntPtr attributes, IntPtr argv, IntPtr envp);

    [DllImport(Libc, EntryPoint = "posix_spawn_file_actions_init", ExactSpelling = true)]
    internal static extern int FileActionsInit(IntPtr fileActions);

    [DllImport(Libc, EntryPoint = "posix_spawn_file_actions_destroy", ExactSpelling = true)]
    internal static extern int FileActionsDestroy(IntPtr fileActions);

    [DllImport(Libc, EntryPoint = "posix_spawn_file_actions_addopen", ExactSpelling = true)]
    internal static extern int FileActionsAddOpen(IntPtr fileActions, int fd, IntPtr path, int flags, uint mode);

    [DllImport(Libc, EntryPoint = "posix_spawn_file_actions_adddup2", ExactSpelling = true)]
    internal static extern int FileActionsAddDup2(IntPtr fileActions, int fd, int newFd);

    [DllImport(Libc, EntryPoint = "posix_spawn_file_actions_addchdir_np", ExactSpelling = true)]
    internal static extern int FileActionsAddChdir(IntPtr fileActions, IntPtr path);

    [DllImport(Libc, EntryPoint = "posix_spawn_file_actions_addclosefrom_np", ExactSpelling = true)]
    internal static extern int FileActionsAddCloseFrom(IntPtr fileActions, int lowFd);

    [DllImport(Libc, EntryPoint = "posix_spawnattr_init", ExactSpelling = true)]
    internal static extern int AttrInit(IntPtr attributes);

    [DllImport(Libc, EntryPoint = "posix_spawnattr_destroy", ExactSpelling = true)]
    internal static extern int AttrDestroy(IntPtr attributes);

    [DllImport(Libc, EntryPoint = "posix_spawnattr_setflags", ExactSpelling = true)]
    internal static extern int AttrSetFlags(IntPtr attributes, short flags);

    [DllImport(Libc, EntryPoint = "posix_spawnattr_setsigmask", ExactSpelling = true)]
    internal static extern int AttrSetSigMask(IntPtr attributes, IntPtr sigset);

    [DllImport(Libc, EntryPoint = "posix_spawnattr_setsigdefault", ExactSpelling = true)]
    internal static extern int AttrSetSigDefault(IntPtr attributes, IntPtr sigset);

    [DllImport(Libc, EntryPoint = "sigemptyset", ExactSpelling = true)]
    internal static extern int SigEmptySet(IntPtr sigset);

    [DllImport(Libc, EntryPoint = "sigfillset", ExactSpelling = true)]
    internal static extern int SigFillSet(IntPtr sigset);

    [DllImport(Libc, EntryPoint = "waitpid", SetLastError = true, ExactSpelling = true)]
    internal static extern int WaitPid(int pid, out int status, int options);

    [DllImport(Libc, EntryPoint = "waitid", SetLastError = true, ExactSpelling = true)]
    internal static extern int WaitId(int idType, int id, IntPtr info, int options);

    [DllImport(Libc, EntryPoint = "kill", SetLastError = true, ExactSpelling = true)]
    internal static extern int Kill(int pid, int signal);

    [DllImport(Libc, EntryPoint = "geteuid", ExactSpelling = true)]
    internal static extern uint GetEuid();

    [DllImport(Libc, EntryPoint = "open", SetLastError = true, ExactSpelling = true)]
    internal static extern int Open(IntPtr path, int flags, uint mode);

    [DllImport(Libc, EntryPoint = "statx", SetLastError = true, ExactSpelling = true)]
    internal static extern int Statx(int dirFd, IntPtr path, int flags, uint mask, IntPtr buffer);
}
