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
            var start = StartInfo(args, environment, home);
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

    /// <summary>How the QuickStart is started: the built dll, no cluster configuration of the machine, an empty HOME.</summary>
    public static ProcessStartInfo StartInfo(string[] args, IReadOnlyDictionary<string, string>? environment, DirectoryInfo home)
    {
        File.Exists(Dll).Should().BeTrue($"the QuickStart is built before its tests ({Dll})");
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

        return start;
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

/// <summary>
/// A QuickStart that is still running: its output lines as they are printed, so a test can wait for a line (never for a
/// time), then interrupt it the way Ctrl+C or a service manager does (SIGTERM) and read what it printed on the way out.
/// </summary>
internal sealed class RunningQuickStart : IAsyncDisposable
{
    private readonly Process _process;
    private readonly DirectoryInfo _home;
    private readonly List<string> _lines = [];
    private readonly System.Text.StringBuilder _error = new();
    private readonly SemaphoreSlim _changed = new(0);
    private readonly TaskCompletionSource _outputClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _errorClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private RunningQuickStart(Process process, DirectoryInfo home)
    {
        _process = process;
        _home = home;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                _outputClosed.TrySetResult();
            }
            else
            {
                lock (_lines)
                {
                    _lines.Add(e.Data.TrimEnd('\r'));
                }
            }

            _changed.Release();
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                _errorClosed.TrySetResult();
                return;
            }

            lock (_error)
            {
                _error.AppendLine(e.Data);
            }
        };
    }

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    public string Error
    {
        get
        {
            lock (_error)
            {
                return _error.ToString();
            }
        }
    }

    public override string ToString() => $"--- stdout\n{string.Join('\n', Lines)}\n--- stderr\n{Error}";

    /// <summary>Starts the built QuickStart with the same isolated environment as <see cref="QuickStartProcess.RunAsync"/>.</summary>
    public static RunningQuickStart Start(string[] args, IReadOnlyDictionary<string, string> environment)
    {
        var home = Directory.CreateTempSubdirectory("vp-quickstart-home-");
        var start = QuickStartProcess.StartInfo(args, environment, home);
        var process = Process.Start(start)!;
        var running = new RunningQuickStart(process, home);
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return running;
    }

    /// <summary>Waits until a printed line matches (or the QuickStart exits, or <paramref name="limit"/> passes); returns its index.</summary>
    public async Task<int> WaitForLineAsync(Func<string, bool> match, TimeSpan limit, string what)
    {
        using var timeout = new CancellationTokenSource(limit);
        while (true)
        {
            var lines = Lines;
            var index = lines.ToList().FindIndex(l => match(l));
            if (index >= 0)
            {
                return index;
            }

            if (_outputClosed.Task.IsCompleted)
            {
                throw new Xunit.Sdk.XunitException($"The QuickStart ended before printing {what}:\n{this}");
            }

            try
            {
                await _changed.WaitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                throw new Xunit.Sdk.XunitException($"The QuickStart did not print {what} within {limit}:\n{this}");
            }
        }
    }

    /// <summary>Sends SIGTERM (what Ctrl+C's handler and service managers do) and waits for the QuickStart to exit.</summary>
    public async Task<int> InterruptAsync(TimeSpan limit)
    {
        using (var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) } })!)
        {
            await kill.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(limit);
        await _process.WaitForExitAsync(timeout.Token);
        await Task.WhenAll(_outputClosed.Task, _errorClosed.Task).WaitAsync(timeout.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _changed.Dispose();
        _home.Delete(recursive: true);
    }
}
