using System.Text.Json;

namespace VisionPlatform.Training.Subprocess.Native;

/// <summary>
/// The per-run supervisor: a small Python program shipped in this assembly, written into the run directory (0600) and
/// run by the trainer's own interpreter in isolated mode (<c>-I -S</c>: no <c>PYTHON*</c> variables, no user site, no
/// <c>site</c> module) with an argument list. It leads the run's session, is the trainer's parent, outlives the host,
/// and writes the trainer's exit status atomically (temporary file, then rename; 0600) to <c>exit-status.json</c> in
/// the run directory, so any later host reports the real outcome. It ignores SIGTERM, SIGINT and SIGHUP (a stop's
/// SIGTERM to the process group reaches the trainer, the supervisor keeps waiting for it); a SIGKILL to the group ends
/// it with the trainer, and then the host that sent it (the parent) records the exit.
/// </summary>
internal static class RunSupervisor
{
    /// <summary>The supervisor's file name in the run directory.</summary>
    public const string FileName = ".supervisor.py";

    /// <summary>The exit status file's name in the run directory.</summary>
    public const string StatusFileName = "exit-status.json";

    /// <summary>Largest status file read (it holds two numbers).</summary>
    private const int MaxStatusBytes = 4096;

    /// <summary>
    /// argv: <c>supervisor.py &lt;status file&gt; &lt;program&gt; &lt;arguments...&gt;</c>. Arguments travel as bytes
    /// (<c>os.fsencode</c> undoes Python's surrogate-escape decoding), so they reach the trainer byte for byte.
    /// </summary>
    public const string Script = """
        import json, os, signal, sys

        def main():
            status_path = os.fsencode(sys.argv[1])
            argv = [os.fsencode(a) for a in sys.argv[2:]]
            reset = [signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGPIPE]
            if hasattr(signal, "SIGXFSZ"):
                reset.append(signal.SIGXFSZ)
            for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(s, signal.SIG_IGN)
            pid = os.fork()
            if pid == 0:
                try:
                    for s in reset:
                        signal.signal(s, signal.SIG_DFL)
                    os.execv(argv[0], argv)
                except BaseException as e:
                    try:
                        os.write(2, ("supervisor: cannot execute the trainer: %s\n" % e).encode("utf-8", "replace"))
                    finally:
                        os._exit(127)
            while True:
                try:
                    _, status = os.waitpid(pid, 0)
                    break
                except ChildProcessError:
                    status = None
                    break
            if status is None:
                record = {"version": 1, "exitCode": None, "signal": None}
                code = 1
            elif os.WIFSIGNALED(status):
                record = {"version": 1, "exitCode": None, "signal": os.WTERMSIG(status)}
                code = 128 + os.WTERMSIG(status)
            else:
                record = {"version": 1, "exitCode": os.WEXITSTATUS(status), "signal": None}
                code = os.WEXITSTATUS(status)
            temp = status_path + b".tmp." + str(os.getpid()).encode()
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, json.dumps(record).encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(temp, status_path)
            os._exit(code)

        main()
        """;

    /// <summary>Writes the supervisor into a run directory (0600, replacing an earlier copy atomically).</summary>
    /// <param name="runDirectory">The run directory.</param>
    /// <returns>The supervisor's path.</returns>
    public static string WriteTo(string runDirectory)
    {
        var path = Path.Combine(runDirectory, FileName);
        var temp = Path.Combine(runDirectory, $".supervisor.{Guid.NewGuid():N}.tmp");
        using (var stream = SafeFiles.CreateNew(temp))
        {
            stream.Write(System.Text.Encoding.UTF8.GetBytes(Script));
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
        return path;
    }

    /// <summary>
    /// The argument list that runs <paramref name="program"/> with <paramref name="arguments"/> under the supervisor:
    /// <c>-I -S &lt;supervisor&gt; &lt;status&gt; &lt;program&gt; &lt;arguments...&gt;</c>, run by the trainer's interpreter.
    /// </summary>
    /// <param name="supervisor">The supervisor's path.</param>
    /// <param name="statusPath">Where it writes the exit status.</param>
    /// <param name="program">The trainer's program (argv[0] of the trainer).</param>
    /// <param name="arguments">The trainer's arguments.</param>
    public static List<string> Arguments(string supervisor, string statusPath, string program, IReadOnlyList<string> arguments) =>
        ["-I", "-S", supervisor, statusPath, program, .. arguments];

    /// <summary>
    /// The exit status the supervisor recorded, or <see langword="null"/> when there is none (or it is not a regular
    /// file, or malformed).
    /// </summary>
    /// <param name="statusPath">The status file.</param>
    public static ChildExit? TryRead(string statusPath)
    {
        try
        {
            using var stream = SafeFiles.OpenRead(statusPath, bufferSize: 1);
            var buffer = new byte[MaxStatusBytes];
            var length = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            using var doc = JsonDocument.Parse(buffer.AsMemory(0, length));
            var root = doc.RootElement;
            int? code = root.TryGetProperty("exitCode", out var c) && c.ValueKind == JsonValueKind.Number && c.TryGetInt32(out var cv) && cv is >= 0 and <= 255 ? cv : null;
            int? signal = root.TryGetProperty("signal", out var s) && s.ValueKind == JsonValueKind.Number && s.TryGetInt32(out var sv) && sv is > 0 and < 128 ? sv : null;
            return code is null && signal is null ? null : new ChildExit(code, signal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }
}
