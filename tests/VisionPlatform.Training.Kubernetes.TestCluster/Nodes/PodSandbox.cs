using System.Diagnostics;
using System.Text;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Nodes;

/// <summary>
/// A pod's own view of the host, for pods that need names: its hostname (a private UTS namespace) and its hosts file
/// bind-mounted over <c>/etc/hosts</c> (a private mount namespace). Every container of the pod runs as
/// <c>unshare --mount --uts --propagation private -- python3 -I -S &lt;helper&gt; &lt;hostname&gt; &lt;hosts file&gt; --
/// &lt;program&gt; &lt;args…&gt;</c>: argument lists only, and every stage execs the next, so the container's pid stays the
/// program's pid. The network namespace stays the host's (pods share ports).
/// </summary>
/// <param name="Hostname">The hostname the pod's processes see.</param>
/// <param name="HostsFile">The pod's hosts file (rewritten in place as peers come and go, so the bind mount sees it).</param>
/// <param name="Helper">The helper script that mounts, sets the hostname and execs the program.</param>
internal sealed record PodSandbox(string Hostname, string HostsFile, string Helper)
{
    public const string Unshare = "/usr/bin/unshare";
    public const string Python = "/usr/bin/python3";

    private const string HelperSource = """
        # The test cluster's pod sandbox helper: runs inside `unshare --mount --uts` (fresh, private namespaces),
        # bind-mounts the pod's hosts file over /etc/hosts, sets the pod's hostname and execs the container's program.
        # Usage: pod-sandbox.py <hostname> <hosts-file> -- <program> [args...]
        import ctypes
        import os
        import socket
        import sys

        MS_BIND = 4096


        def main(argv):
            if len(argv) < 4 or argv[2] != "--":
                print("pod-sandbox: usage: pod-sandbox.py <hostname> <hosts-file> -- <program> [args...]", file=sys.stderr)
                return 2
            hostname, hosts, program = argv[0], argv[1], argv[3:]
            libc = ctypes.CDLL(None, use_errno=True)
            libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
            if libc.mount(os.fsencode(hosts), b"/etc/hosts", None, MS_BIND, None) != 0:
                error = ctypes.get_errno()
                print(f"pod-sandbox: cannot bind-mount the pod's hosts file over /etc/hosts: {os.strerror(error)}", file=sys.stderr)
                return 128
            try:
                socket.sethostname(hostname)
            except OSError as error:
                print(f"pod-sandbox: cannot set the pod's hostname: {error.strerror}", file=sys.stderr)
                return 128
            try:
                os.execvp(program[0], program)
            except OSError as error:
                print(f"pod-sandbox: failed to execute {program[0]}: {error.strerror}", file=sys.stderr)
                return 127


        sys.exit(main(sys.argv[1:]))

        """;

    private static readonly Lazy<string?> Probe = new(ProbeNamespaces, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The argument list that runs <paramref name="program"/> inside the sandbox.</summary>
    public IReadOnlyList<string> Wrap(string program, IEnumerable<string> arguments) =>
        [Unshare, "--mount", "--uts", "--propagation", "private", "--", Python, "-I", "-S", Helper, Hostname, HostsFile, "--", program, .. arguments];

    /// <summary>
    /// Null when this machine lets the cluster give pods their own namespaces; otherwise the one-line reason, which a
    /// pod that needs a name reports. <paramref name="forced"/> (the option) overrides the probe: false = "not permitted".
    /// </summary>
    public static string? Unavailable(bool? forced) => forced switch
    {
        true => null,
        false => NotPermitted("disabled by WorkloadOptions.PodNamespaces = false"),
        null => Probe.Value,
    };

    /// <summary>Writes the helper script (0600 in the cluster's private data directory) and returns its path.</summary>
    public static string WriteHelper(string dataDirectory)
    {
        var path = Path.Combine(dataDirectory, "pod-sandbox.py");
        if (!File.Exists(path))
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            try
            {
                using var stream = new FileStream(path, options);
                stream.Write(Encoding.UTF8.GetBytes(HelperSource));
            }
            catch (IOException) when (File.Exists(path))
            {
                // another pod wrote it first
            }
        }

        return path;
    }

    /// <summary>
    /// Rewrites a hosts file in place (same inode: the bind mount in the pod sees the change). A shorter content is
    /// padded with a comment so no stale tail of the old content can be read as an entry.
    /// </summary>
    public static void WriteHostsFile(string path, string content)
    {
        var bytes = Encoding.UTF8.GetBytes(content);
        var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var stream = new FileStream(path, options);
        if (bytes.Length < stream.Length)
        {
            var padding = (int)stream.Length - bytes.Length;
            var padded = new byte[stream.Length];
            bytes.CopyTo(padded, 0);
            padded[bytes.Length] = (byte)'#';
            for (var i = bytes.Length + 1; i < padded.Length - 1; i++)
            {
                padded[i] = (byte)' ';
            }

            padded[^1] = (byte)'\n';
            bytes = padding >= 2 ? padded : [.. bytes, (byte)'\n'];
        }

        stream.Position = 0;
        stream.Write(bytes);
        stream.SetLength(bytes.Length);
        stream.Flush();
    }

    private static string NotPermitted(string detail) =>
        $"pod hostname/subdomain needs a private UTS and mount namespace per pod: `{Unshare} --mount --uts` is not permitted here ({detail}); run the test cluster as root (or with CAP_SYS_ADMIN) with util-linux unshare and {Python}";

    private static string? ProbeNamespaces()
    {
        if (!OperatingSystem.IsLinux())
        {
            return NotPermitted("not Linux");
        }

        foreach (var required in new[] { Unshare, Python })
        {
            if (!File.Exists(required))
            {
                return NotPermitted(required + " not found");
            }
        }

        try
        {
            var startInfo = new ProcessStartInfo(Unshare)
            {
                UseShellExecute = false,
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            };
            foreach (var argument in new[] { "--mount", "--uts", "--propagation", "private", "--", "/bin/true" })
            {
                startInfo.ArgumentList.Add(argument);
            }

            using var process = Process.Start(startInfo)!;
            var error = process.StandardError.ReadToEnd().Trim();
            process.WaitForExit();
            if (process.ExitCode == 0)
            {
                return null;
            }

            return NotPermitted(error.Length > 0 ? error.ReplaceLineEndings(" ") : "exit code " + process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return NotPermitted(ex.Message);
        }
    }
}
