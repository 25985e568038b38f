using System.Runtime.InteropServices;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Nodes;

/// <summary>
/// Signals a whole process group. Every container process is started as the leader of its own session
/// (through <c>setsid</c>), so its group id equals its pid and signalling <c>-pid</c> reaches everything it spawned.
/// </summary>
internal static partial class ProcessGroup
{
    public const int SigTerm = 15;
    public const int SigKill = 9;

    /// <summary>Sends <paramref name="signal"/> to the group led by <paramref name="groupLeaderPid"/>; false when the group is gone.</summary>
    public static bool Signal(int groupLeaderPid, int signal) => groupLeaderPid > 0 && NativeMethods.kill(-groupLeaderPid, signal) == 0;

    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
#pragma warning disable SYSLIB1054 // a plain DllImport keeps the project free of AllowUnsafeBlocks
        public static extern int kill(int pid, int sig);
#pragma warning restore SYSLIB1054
    }
}
