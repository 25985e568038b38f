using System.Collections.Concurrent;
using System.Diagnostics;

namespace VisionPlatform.Training.Benchmarks.Children;

/// <summary>
/// This benchmark re-executed with a hidden sub-command (<c>__cluster</c>, <c>__poll</c>, <c>__spin</c>), talking one
/// line per request and one line per answer over stdin/stdout. The child ends when its stdin closes, so it dies with
/// this process however that ends (even killed); <see cref="DisposeAsync"/> and process exit / Ctrl+C kill it too.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private static readonly ConcurrentDictionary<int, Process> Live = new();
    private readonly Process _process;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Task _stderr;

    static ChildProcess()
    {
        // a last resort for any child still alive when this process ends (exceptions, Ctrl+C after the scenario's
        // own clean-up was skipped): closing stdin already ends them, killing makes it immediate
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
    }

    private ChildProcess(Process process, string name)
    {
        _process = process;
        Name = name;
        _stderr = Task.Run(async () =>
        {
            // the child's notes go to our stderr, prefixed, so they read like the scenario's own progress
            while (await process.StandardError.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                await Console.Error.WriteLineAsync($"[{name}] {line}").ConfigureAwait(false);
            }
        });
    }

    public string Name { get; }

    public int Id => _process.Id;

    /// <summary>Starts this program with <paramref name="arguments"/> and waits for its first line (<c>ready ...</c>).</summary>
    /// <returns>The child and the rest of its ready line.</returns>
    /// <remarks>
    /// Variables named <c>VP_BENCH_&lt;NAME&gt;_&lt;VARIABLE&gt;</c> in this process's environment are passed to the child
    /// <paramref name="name"/> as <c>&lt;VARIABLE&gt;</c> (e.g. <c>VP_BENCH_CLUSTER_DOTNET_gcServer=1</c>), to try runtime
    /// settings on one child without changing the SDK's process.
    /// </remarks>
    public static async Task<(ChildProcess Child, string Ready)> StartAsync(
        string name, IReadOnlyList<string> arguments, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = SelfCommand();
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var prefix = $"VP_BENCH_{name.ToUpperInvariant()}_";
        foreach (System.Collections.DictionaryEntry variable in Environment.GetEnvironmentVariables())
        {
            if (variable.Key is string key && key.StartsWith(prefix, StringComparison.Ordinal) && key.Length > prefix.Length)
            {
                start.Environment[key[prefix.Length..]] = variable.Value as string;
            }
        }

        start.RedirectStandardInput = true;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        var process = Process.Start(start) ?? throw new InvalidOperationException($"{name}: could not start");
        Live[process.Id] = process;
        var child = new ChildProcess(process, name);
        try
        {
            var ready = await child.ReadLineAsync(cancellationToken).WaitAsync(TimeSpan.FromMinutes(2), cancellationToken).ConfigureAwait(false);
            if (!ready.StartsWith("ready", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"{name}: expected 'ready', got '{ready}'");
            }

            return (child, ready.Length > 6 ? ready[6..] : string.Empty);
        }
        catch
        {
            await child.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Sends one command line and returns the child's one-line answer.</summary>
    public async Task<string> SendAsync(string command, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _process.StandardInput.WriteLineAsync(command.AsMemory(), cancellationToken).ConfigureAwait(false);
            await _process.StandardInput.FlushAsync(cancellationToken).ConfigureAwait(false);
            var answer = await ReadLineAsync(cancellationToken).ConfigureAwait(false);
            return answer.StartsWith("error ", StringComparison.Ordinal)
                ? throw new InvalidOperationException($"{Name}: {command.Split(' ')[0]}: {answer[6..]}")
                : answer;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Sends a line without waiting for an answer (for streams of notifications).</summary>
    public async Task PostAsync(string line, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _process.StandardInput.WriteLineAsync(line.AsMemory(), cancellationToken).ConfigureAwait(false);
            await _process.StandardInput.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            // closing stdin asks the child to stop (it disposes its cluster and exits); kill it if it does not
            _process.StandardInput.Close();
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
        {
            Kill(_process);
        }

        await _stderr.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
        Live.TryRemove(_process.Id, out _);
        _process.Dispose();
        _gate.Dispose();
    }

    /// <summary>Kills every child still running (process exit, Ctrl+C).</summary>
    public static void KillAll()
    {
        foreach (var process in Live.Values)
        {
            Kill(process);
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // gone already
        }
    }

    private async Task<string> ReadLineAsync(CancellationToken cancellationToken) =>
        await _process.StandardOutput.ReadLineAsync(cancellationToken).ConfigureAwait(false)
        ?? throw new InvalidOperationException($"{Name}: exited (code {(_process.WaitForExit(5000) ? _process.ExitCode : -1)}) before answering");

    /// <summary>How to run this program again: the apphost directly, or <c>dotnet &lt;dll&gt;</c> when started that way.</summary>
    private static ProcessStartInfo SelfCommand()
    {
        var processPath = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var start = new ProcessStartInfo(processPath);
        if (Path.GetFileNameWithoutExtension(processPath) == "dotnet")
        {
            start.ArgumentList.Add(typeof(ChildProcess).Assembly.Location);
        }

        return start;
    }
}
