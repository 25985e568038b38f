using System.Diagnostics;

namespace VisionPlatform.Training.TestSupport;

/// <summary>
/// Runs kubectl, a client nobody here wrote, against a test cluster. The build machines have it at <see cref="Path"/>
/// (installed with the machine image; Debian bookworm's archive has no kubectl package, so the tests cannot install it
/// themselves): a test that needs it fails with one line saying how to get it. It never skips.
/// </summary>
internal static class Kubectl
{
    /// <summary>Where the build machines have kubectl.</summary>
    public const string Path = "/usr/bin/kubectl";

    private const string InstallHint = "kubectl is required by this test: install kubectl 1.28 or later at /usr/bin/kubectl (https://kubernetes.io/docs/tasks/tools/)";

    /// <summary>
    /// Runs kubectl with an argument list and only the environment it needs (the kubeconfig, a private HOME for its
    /// discovery cache), and returns its trimmed standard output; a non-zero exit throws with its standard error.
    /// </summary>
    /// <param name="kubeconfig">The test cluster's kubeconfig.</param>
    /// <param name="home">A private directory for kubectl's cache.</param>
    /// <param name="arguments">kubectl's arguments.</param>
    public static async Task<string> RunAsync(string kubeconfig, string home, params string[] arguments)
    {
        if (!File.Exists(Path))
        {
            throw new InvalidOperationException(InstallHint);
        }

        var start = new ProcessStartInfo(Path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.Environment.Clear();
        start.Environment["KUBECONFIG"] = kubeconfig;
        start.Environment["HOME"] = home;
        start.Environment["PATH"] = "/usr/bin:/bin";
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0
            ? (await stdout).Trim()
            : throw new InvalidOperationException($"kubectl {string.Join(' ', arguments)} exited {process.ExitCode}: {(await stderr).Trim()}");
    }
}
