using System.Globalization;
using VisionPlatform.Training.Subprocess.Native;

namespace VisionPlatform.Training.Subprocess.Coordination;

/// <summary>
/// The runs directory is trusted with job environments, advanced configs, callback URLs and the pids the executor
/// signals, so it must be the host's own: created 0700, owned by the host's uid, not writable by group or others and
/// not a symbolic link. An existing directory that fails any of these is refused (at executor construction, and again
/// whenever the executor creates it), with one line naming the path and the fix.
/// </summary>
internal static class RunsDirectoryGuard
{
    /// <summary>The default runs directory for this user (see <see cref="DefaultFor"/>).</summary>
    public static string Default => DefaultFor(System.Environment.GetEnvironmentVariable);

    /// <summary>
    /// The default runs directory: <c>$XDG_STATE_HOME/visionplatform-training/runs</c>, else
    /// <c>~/.local/state/visionplatform-training/runs</c>, else (no usable home) <c>&lt;temp&gt;/vp-training-runs-&lt;uid&gt;</c>;
    /// on Windows <c>%LOCALAPPDATA%\VisionPlatform.Training\runs</c>. Never a directory shared by every user.
    /// </summary>
    /// <param name="variable">Reads an environment variable.</param>
    public static string DefaultFor(Func<string, string?> variable)
    {
        if (OperatingSystem.IsWindows())
        {
            return Path.Combine(System.Environment.GetFolderPath(System.Environment.SpecialFolder.LocalApplicationData), "VisionPlatform.Training", "runs");
        }

        if (variable("XDG_STATE_HOME") is { Length: > 0 } state && Path.IsPathRooted(state))
        {
            return Path.Combine(state, "visionplatform-training", "runs");
        }

        if (variable("HOME") is { Length: > 0 } home && Path.IsPathRooted(home) && home != "/")
        {
            return Path.Combine(home, ".local", "state", "visionplatform-training", "runs");
        }

        return Path.Combine(Path.GetTempPath(), "vp-training-runs-" + SafeFiles.CurrentUid.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>The problem with an existing runs directory, or <see langword="null"/> when it is fine or does not exist.</summary>
    /// <param name="path">The absolute runs directory.</param>
    public static string? Check(string path)
    {
        if (!OperatingSystem.IsLinux() || SafeFiles.Stat(path) is not { } stat)
        {
            return null;
        }

        var key = SubprocessContext.OptionsKey + ":RunsDirectory";
        var type = stat.Mode & LinuxNative.SIfMt;
        if (type != LinuxNative.SIfDir)
        {
            return $"The runs directory '{path}' is {SafeFiles.Describe(stat.Mode)}, not a directory: set {key} to a directory of your own (a symbolic link is not followed).";
        }

        var uid = SafeFiles.CurrentUid;
        if (stat.Uid != uid)
        {
            return string.Create(CultureInfo.InvariantCulture, $"The runs directory '{path}' is owned by uid {stat.Uid}, not by this host's uid {uid}: set {key} to a directory of your own, or remove it so it is created 0700.");
        }

        if ((stat.Mode & 0x12) != 0)
        {
            var mode = Convert.ToString(stat.Mode & 0xFFF, 8);
            return $"The runs directory '{path}' is writable by group or others (mode {mode}): run chmod 700 '{path}', or set {key} to a directory of your own.";
        }

        return null;
    }

    /// <summary>Refuses an existing runs directory that is not the host's own.</summary>
    /// <param name="path">The absolute runs directory.</param>
    /// <param name="executorName">The executor, for the exception.</param>
    public static void Verify(string path, string executorName)
    {
        if (Check(path) is { } problem)
        {
            throw new TrainingException(TrainingErrorCode.ExecutorUnavailable, problem) { ExecutorName = executorName };
        }
    }

    /// <summary>Creates the runs directory 0700 when it is missing, then verifies it (whoever created it).</summary>
    /// <param name="path">The absolute runs directory.</param>
    /// <param name="executorName">The executor, for the exception.</param>
    public static void EnsureCreated(string path, string executorName)
    {
        SafeFiles.CreatePrivateDirectory(path);
        Verify(path, executorName);
    }
}
