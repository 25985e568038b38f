using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace VisionPlatform.Training.TestSupport;

/// <summary>
/// PyTorch for the tests that run real PyTorch (the reference trainer samples/trainer/train_torch.py, torchrun). The
/// first test that needs it calls <see cref="EnsureAsync"/>: when <see cref="Interpreter"/> cannot import torch and
/// torchvision and the tests run as root with apt-get, it installs Debian's <c>python3-torch</c> and
/// <c>python3-torchvision</c> (serialized across test processes by a lock file, and by apt's own lock across
/// anything else that runs apt); otherwise it fails with one line saying how to install them. It never skips.
/// Compiled into each test project that links it.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class PyTorchRequirement
{
    /// <summary>The Python that has Debian's torch. The <c>python3</c> first on PATH may be another interpreter (pyenv) without it.</summary>
    public const string Interpreter = "/usr/bin/python3";

    /// <summary>The packages that provide torch and torchvision for <see cref="Interpreter"/>.</summary>
    public static readonly IReadOnlyList<string> Packages = ["python3-torch", "python3-torchvision"];

    /// <summary>What to run when PyTorch is missing and the tests cannot install it.</summary>
    public static string InstallHint =>
        $"PyTorch is required by this test: as root run `apt-get install -y {string.Join(' ', Packages)}` (or .ci/install-test-deps) so that {Interpreter} can import torch and torchvision";

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static readonly string LockPath = Path.Combine(Path.GetTempPath(), "vp-tests-pytorch-install.lock");
    private static bool _ready;

    /// <summary>Makes sure <see cref="Interpreter"/> imports torch and torchvision, installing them when it can; returns the interpreter.</summary>
    /// <exception cref="PyTorchMissingException">PyTorch is missing and could not be installed (the message says how to install it).</exception>
    public static async Task<string> EnsureAsync()
    {
        await Gate.WaitAsync();
        try
        {
            if (_ready || await HasTorchAsync())
            {
                _ready = true;
                return Interpreter;
            }

            if (!File.Exists("/usr/bin/apt-get") || GetEffectiveUserId() != 0)
            {
                throw new PyTorchMissingException(InstallHint + " (the tests install it themselves only as root on a machine with apt-get)");
            }

            using (await AcquireInstallLockAsync())
            {
                // Another test process may have installed it while this one waited for the lock.
                if (!await HasTorchAsync())
                {
                    await InstallAsync();
                }
            }

            if (!await HasTorchAsync())
            {
                throw new PyTorchMissingException(InstallHint + $" (apt-get installed the packages but {Interpreter} still cannot import torch)");
            }

            _ready = true;
            return Interpreter;
        }
        finally
        {
            Gate.Release();
        }
    }

    private static async Task<bool> HasTorchAsync()
    {
        if (!File.Exists(Interpreter))
        {
            return false;
        }

        var (code, _) = await RunAsync(Interpreter, ["-c", "import torch, torchvision"]);
        return code == 0;
    }

    private static async Task InstallAsync()
    {
        // apt's own lock: wait for another apt-get (another engineer's, unattended upgrades) instead of failing at once.
        string[] install = ["-o", "DPkg::Lock::Timeout=900", "install", "-y", "-q", .. Packages];
        var (code, output) = await RunAsync("/usr/bin/apt-get", install);
        if (code != 0)
        {
            // Usually missing package lists on a fresh machine.
            (code, output) = await RunAsync("/usr/bin/apt-get", ["-o", "DPkg::Lock::Timeout=900", "update", "-q"]);
            if (code == 0)
            {
                (code, output) = await RunAsync("/usr/bin/apt-get", install);
            }
        }

        if (code != 0)
        {
            var last = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";
            throw new PyTorchMissingException(InstallHint + $" (installing failed with exit code {code}: {last})");
        }
    }

    /// <summary>An exclusive lock on a file in the temp directory (flock through FileShare.None), so one test process runs apt at a time.</summary>
    private static async Task<FileStream> AcquireInstallLockAsync()
    {
        while (true)
        {
            if (new FileInfo(LockPath).LinkTarget is not null)
            {
                throw new PyTorchMissingException(InstallHint + $" (the install lock {LockPath} is a symbolic link; remove it)");
            }

            try
            {
                return new FileStream(LockPath, new FileStreamOptions
                {
                    Mode = FileMode.OpenOrCreate,
                    Access = FileAccess.ReadWrite,
                    Share = FileShare.None,
                    UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                });
            }
            catch (IOException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), TimeProvider.System);
            }
        }
    }

    private static async Task<(int Code, string Output)> RunAsync(string fileName, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await process.WaitForExitAsync();
        lock (output)
        {
            return (process.ExitCode, output.ToString());
        }
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }

    [DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint GetEffectiveUserId();
}

/// <summary>PyTorch is missing and the tests could not install it; the message is one line saying how to install it.</summary>
internal sealed class PyTorchMissingException(string message) : Exception(message);
