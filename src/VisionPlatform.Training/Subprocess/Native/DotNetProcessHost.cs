using System.Collections.Concurrent;
using System.Diagnostics;

namespace VisionPlatform.Training.Subprocess.Native;

/// <summary>
/// The fallback for systems without glibc <c>posix_spawn</c> (Windows, macOS): <see cref="Process"/> with an argument
/// list and an explicit environment; stdout and stderr are redirected and copied into the log file by the host (so the
/// log stops when the host dies, and the interleaving of the two streams is only as exact as their pipes); stop kills
/// the whole process tree (there is no portable SIGTERM, so the grace period is not used).
/// </summary>
internal sealed class DotNetProcessHost : IProcessHost
{
    private readonly ConcurrentDictionary<ProcessIdentity, (Process Process, Task<ChildExit> Exit)> _children = new();

    /// <inheritdoc />
    public string Mechanism => "System.Diagnostics.Process";

    /// <inheritdoc />
    public ProcessIdentity Launch(LaunchSpec spec)
    {
        var info = new ProcessStartInfo(spec.FileName)
        {
            UseShellExecute = false,
            WorkingDirectory = spec.WorkingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in spec.Arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment.Clear();
        foreach (var (name, value) in spec.Environment)
        {
            info.Environment[name] = value;
        }

        var log = SafeFiles.OpenAppend(spec.LogPath);
        var process = Process.Start(info) ?? throw new InvalidOperationException($"'{spec.FileName}' did not start.");
        process.StandardInput.Close();
        var gate = new SemaphoreSlim(1, 1);
        var copies = Task.WhenAll(
            CopyAsync(process.StandardOutput.BaseStream, log, gate),
            CopyAsync(process.StandardError.BaseStream, log, gate));
        var identity = new ProcessIdentity(process.Id, process.StartTime.ToUniversalTime().Ticks, null, spec.Marker);
        _children[identity] = (process, WaitAsync(process, copies, log));
        return identity;
    }

    /// <inheritdoc />
    public Task<ChildExit>? TryGetExit(ProcessIdentity identity) =>
        _children.TryGetValue(identity, out var child) ? child.Exit : null;

    /// <inheritdoc />
    public ProcessLiveness Probe(ProcessIdentity identity)
    {
        if (identity.Pid <= 1)
        {
            return ProcessLiveness.Gone;
        }

        try
        {
            using var process = Process.GetProcessById(identity.Pid);
            return !process.HasExited && process.StartTime.ToUniversalTime().Ticks == identity.StartTicks
                ? ProcessLiveness.Alive
                : ProcessLiveness.Gone;
        }
        catch (ArgumentException)
        {
            return ProcessLiveness.Gone;
        }
        catch (InvalidOperationException)
        {
            return ProcessLiveness.Gone;
        }
    }

    /// <inheritdoc />
    public Task WaitForTreeExitAsync(ProcessIdentity identity, CancellationToken cancellationToken = default) =>
        // Process.Kill(entireProcessTree: true) returns once every process of the tree was killed.
        Task.CompletedTask;

    /// <inheritdoc />
    public void SignalTree(ProcessIdentity identity, bool kill)
    {
        if (!kill)
        {
            // No portable graceful signal: the executor's grace period then ends in the kill below.
            return;
        }

        try
        {
            // Only a child this process started is killed: elsewhere nothing proves that a pid read from disk is the
            // run's (no /proc environment to check the run's marker in), so a process found after a restart is left alone.
            if (_children.TryGetValue(identity, out var child))
            {
                child.Process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
        catch (ArgumentException)
        {
            // Already gone.
        }
    }

    private static async Task CopyAsync(Stream source, FileStream log, SemaphoreSlim gate)
    {
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await source.ReadAsync(buffer).ConfigureAwait(false)) > 0)
        {
            await gate.WaitAsync().ConfigureAwait(false);
            try
            {
                await log.WriteAsync(buffer.AsMemory(0, read)).ConfigureAwait(false);
                await log.FlushAsync().ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
            }
        }
    }

    private static async Task<ChildExit> WaitAsync(Process process, Task copies, FileStream log)
    {
        await process.WaitForExitAsync().ConfigureAwait(false);
        await copies.ConfigureAwait(false);
        await log.DisposeAsync().ConfigureAwait(false);
        return new ChildExit(process.ExitCode, null);
    }
}
