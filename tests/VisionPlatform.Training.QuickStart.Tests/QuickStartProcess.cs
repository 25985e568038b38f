using System.Diagnostics;
using System.Reflection;

namespace VisionPlatform.Training.QuickStart.Tests;

/// <summary>What one QuickStart run printed and returned.</summary>
internal sealed record QuickStartResult(int ExitCode, string Output, string Error)
{
    public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();

    public override string ToString() => $"exit code {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Error}";
}

/// <summary>
/// Runs the built QuickStart (<c>dotnet VisionPlatform.Training.QuickStart.dll</c>) as a user does, with no cluster
/// configuration of the machine leaking in: no <c>KUBECONFIG</c> unless given, an empty <c>HOME</c> (no ~/.kube/config),
/// no in-cluster service variables.
/// </summary>
internal static class QuickStartProcess
{
    private static readonly string Dll = typeof(QuickStartProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "QuickStartPath").Value!;

    public static async Task<QuickStartResult> RunAsync(string[] args, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        File.Exists(Dll).Should().BeTrue($"the QuickStart is built before its tests ({Dll})");
        var home = Directory.CreateTempSubdirectory("vp-quickstart-home-");
        try
        {
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add(Dll);
            foreach (var arg in args)
            {
                start.ArgumentList.Add(arg);
            }

            start.Environment.Remove("KUBECONFIG");
            start.Environment.Remove("KUBERNETES_SERVICE_HOST");
            start.Environment.Remove("KUBERNETES_SERVICE_PORT");
            start.Environment["HOME"] = home.FullName;
            start.Environment["DOTNET_CLI_HOME"] = home.FullName;
            start.Environment["DOTNET_NOLOGO"] = "1";
            foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            {
                start.Environment[name] = value;
            }

            using var process = Process.Start(start)!;
            process.StandardInput.Close();
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            using var limit = new CancellationTokenSource();
            limit.CancelAfter(timeout ?? TimeSpan.FromSeconds(120));
            try
            {
                await process.WaitForExitAsync(limit.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"The QuickStart did not exit: {string.Join(' ', args)}");
            }

            return new QuickStartResult(process.ExitCode, await output, await error);
        }
        finally
        {
            home.Delete(recursive: true);
        }
    }

    /// <summary>A kubeconfig whose API server is a closed loopback port: every connection is refused at once.</summary>
    public static string WriteUnreachableKubeconfig(DirectoryInfo directory)
    {
        var path = Path.Combine(directory.FullName, "config");
        File.WriteAllText(path, """
            apiVersion: v1
            kind: Config
            clusters:
            - name: unreachable
              cluster:
                server: https://127.0.0.1:1
                insecure-skip-tls-verify: true
            contexts:
            - name: unreachable
              context:
                cluster: unreachable
                user: tester
            current-context: unreachable
            users:
            - name: tester
              user:
                token: not-a-real-token
            """);
        return path;
    }
}
