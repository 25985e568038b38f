using System.Diagnostics;

namespace VisionPlatform.Training.TestSupport;

/// <summary>
/// kubectl for the tests that drive the test cluster with a client nobody here wrote. The build machines have it at
/// <see cref="Path"/> (installed with the machine image; Debian bookworm's own archive has no kubectl package, so the
/// tests cannot install it themselves): a test that needs it fails with one line saying how to get it. It never skips.
/// </summary>
internal static class KubectlRequirement
{
    /// <summary>Where the build machines have kubectl.</summary>
    public const string Path = "/usr/bin/kubectl";

    private static readonly Lazy<Task<string>> Check = new(CheckAsync);

    /// <summary>Makes sure kubectl runs; returns its path.</summary>
    /// <exception cref="InvalidOperationException">kubectl is missing (the message says how to install it).</exception>
    public static Task<string> EnsureAsync() => Check.Value;

    private static async Task<string> CheckAsync()
    {
        const string hint = "kubectl is required by this test: install kubectl 1.28 or later at /usr/bin/kubectl (https://kubernetes.io/docs/tasks/tools/)";
        if (!File.Exists(Path))
        {
            throw new InvalidOperationException(hint);
        }

        using var process = Process.Start(new ProcessStartInfo(Path) { ArgumentList = { "version", "--client" }, RedirectStandardOutput = true, RedirectStandardError = true })!;
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? Path : throw new InvalidOperationException(hint + $" ({Path} version --client exited {process.ExitCode})");
    }
}
