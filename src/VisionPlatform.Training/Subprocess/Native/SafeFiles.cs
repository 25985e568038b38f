using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace VisionPlatform.Training.Subprocess.Native;

/// <summary>A run file (state, log, index, status) that is a symbolic link, a FIFO, a directory or anything but a regular file.</summary>
internal sealed class NotRegularFileException(string message) : IOException(message);

/// <summary>
/// Opens and inspects the files of a run directory without trusting what is on disk: no symbolic link is followed
/// (<c>O_NOFOLLOW</c>), only regular files are read (a FIFO would block a reader forever, a directory would throw
/// elsewhere), files are created 0600 and directories 0700.
/// </summary>
internal static class SafeFiles
{
    /// <summary>Owner read and write only (0600).</summary>
    public const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Owner only (0700).</summary>
    public const UnixFileMode PrivateDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>The owner and mode (type and permission bits) of a path, without following a final symbolic link.</summary>
    /// <param name="path">The path.</param>
    /// <param name="follow">Whether a final symbolic link is followed.</param>
    /// <returns>The owner uid and <c>st_mode</c>, or <see langword="null"/> when the path does not exist or this is not Linux.</returns>
    public static (uint Uid, int Mode)? Stat(string path, bool follow = false)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        using var native = new NativeBuffers();
        var buffer = native.Alloc(LinuxNative.StatxSize);
        var rc = LinuxNative.Statx(LinuxNative.AtFdCwd, native.Utf8(path), follow ? 0 : LinuxNative.AtSymlinkNoFollow, LinuxNative.StatxBasicStats, buffer);
        return rc != 0 ? null : Read(buffer);
    }

    /// <summary>The uid this host runs as (effective uid).</summary>
    public static uint CurrentUid => OperatingSystem.IsLinux() ? LinuxNative.GetEuid() : 0;

    /// <summary>Describes a file type for messages.</summary>
    /// <param name="mode">The <c>st_mode</c>.</param>
    public static string Describe(int mode) => (mode & LinuxNative.SIfMt) switch
    {
        LinuxNative.SIfReg => "a regular file",
        LinuxNative.SIfDir => "a directory",
        LinuxNative.SIfLnk => "a symbolic link",
        0x1000 => "a FIFO",
        0xC000 => "a socket",
        0x2000 => "a character device",
        0x6000 => "a block device",
        _ => "not a regular file",
    };

    /// <summary>
    /// Opens a regular file for reading without following a symbolic link and without blocking on a FIFO.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <returns>The handle.</returns>
    /// <exception cref="FileNotFoundException">It does not exist.</exception>
    /// <exception cref="NotRegularFileException">It is a symbolic link, FIFO, directory or anything but a regular file.</exception>
    public static SafeFileHandle OpenReadHandle(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            var info = new FileInfo(path);
            if (info.LinkTarget is not null || (info.Exists is false && Directory.Exists(path)))
            {
                throw new NotRegularFileException($"'{path}' is not a regular file; it is skipped.");
            }

            return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }

        int fd;
        using (var native = new NativeBuffers())
        {
            fd = LinuxNative.Open(native.Utf8(path), LinuxNative.ORdOnly | LinuxNative.ONoFollow | LinuxNative.ONonBlock | LinuxNative.OCloExec, 0);
        }

        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno switch
            {
                LinuxNative.ENoEnt => new FileNotFoundException($"'{path}' does not exist.", path),
                LinuxNative.ENotDir => new DirectoryNotFoundException($"A directory of '{path}' does not exist."),
                LinuxNative.ELoop => new NotRegularFileException($"'{path}' is a symbolic link; it is not followed."),
                _ => new IOException(string.Create(CultureInfo.InvariantCulture, $"'{path}' cannot be opened (errno {errno}).")),
            };
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        var stat = FStat(fd);
        if (stat is not { } s || (s.Mode & LinuxNative.SIfMt) != LinuxNative.SIfReg)
        {
            handle.Dispose();
            throw new NotRegularFileException($"'{path}' is {(stat is { } t ? Describe(t.Mode) : "not a regular file")}, not a regular file; it is skipped.");
        }

        return handle;
    }

    /// <summary>Opens a regular file for reading as a stream (see <see cref="OpenReadHandle"/>).</summary>
    /// <param name="path">The file.</param>
    /// <param name="bufferSize">The stream's buffer size (1 for none).</param>
    /// <returns>The stream.</returns>
    public static FileStream OpenRead(string path, int bufferSize = 4096) =>
        new(OpenReadHandle(path), FileAccess.Read, bufferSize);

    /// <summary>Whether a path is a regular file (not a symbolic link, FIFO or directory).</summary>
    /// <param name="path">The path.</param>
    public static bool IsRegularFile(string path) => OperatingSystem.IsLinux()
        ? Stat(path) is { } s && (s.Mode & LinuxNative.SIfMt) == LinuxNative.SIfReg
        : File.Exists(path) && new FileInfo(path).LinkTarget is null;

    /// <summary>Whether nothing, or a regular file, is at a path (a file the executor may create or append to).</summary>
    /// <param name="path">The path.</param>
    /// <returns>The problem, or <see langword="null"/>.</returns>
    public static string? CheckAbsentOrRegular(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return Directory.Exists(path) || (File.Exists(path) && new FileInfo(path).LinkTarget is not null)
                ? $"'{path}' is not a regular file"
                : null;
        }

        return Stat(path) is { } s && (s.Mode & LinuxNative.SIfMt) != LinuxNative.SIfReg
            ? $"'{path}' is {Describe(s.Mode)}, not a regular file"
            : null;
    }

    /// <summary>Creates a new file 0600 (fails when anything, a symbolic link included, is at the path).</summary>
    /// <param name="path">The file.</param>
    /// <returns>The stream, for writing.</returns>
    public static FileStream CreateNew(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = PrivateFile;
        }

        return new FileStream(path, options);
    }

    /// <summary>Opens a file for appending, creating it 0600; refuses a symbolic link or anything but a regular file.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The stream.</returns>
    public static FileStream OpenAppend(string path)
    {
        if (CheckAbsentOrRegular(path) is { } problem)
        {
            throw new NotRegularFileException(problem + "; it is not written.");
        }

        var options = new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.ReadWrite | FileShare.Delete };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = PrivateFile;
        }

        return new FileStream(path, options);
    }

    /// <summary>Creates a directory (and missing parents) 0700.</summary>
    /// <param name="path">The directory.</param>
    public static void CreatePrivateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, PrivateDirectory);
        }
    }

    private static (uint Uid, int Mode)? FStat(int fd)
    {
        using var native = new NativeBuffers();
        var buffer = native.Alloc(LinuxNative.StatxSize);
        var rc = LinuxNative.Statx(fd, native.Utf8(string.Empty), LinuxNative.AtEmptyPath, LinuxNative.StatxBasicStats, buffer);
        return rc != 0 ? null : Read(buffer);
    }

    private static (uint Uid, int Mode) Read(IntPtr buffer) =>
        ((uint)Marshal.ReadInt32(buffer, LinuxNative.StatxUidOffset), (ushort)Marshal.ReadInt16(buffer, LinuxNative.StatxModeOffset));
}
