using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using VisionPlatform.Training.TestSupport;

namespace VisionPlatform.Training.Tests.Trainers;

/// <summary>
/// One trainer or torchrun process started by a test, with its stdout and stderr collected line by line. Every
/// process it starts carries a marker in its environment (torchrun copies its environment into its workers), so
/// <see cref="DisposeAsync"/> can find and kill every one of them, orphans included, and a test can assert that none
/// is left.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class TrainerProcess : IAsyncDisposable
{
    /// <summary>Generous limit for a run that should finish; a hang fails the test instead of blocking the suite.</summary>
    public static readonly TimeSpan RunLimit = TimeSpan.FromMinutes(4);

    private const string MarkerVariable = "VP_TORCH_TEST_MARKER";
    private readonly Process _process;
    private readonly List<string> _stdout = [];
    private readonly List<string> _stderr = [];

    private TrainerProcess(Process process, string marker)
    {
        _process = process;
        Marker = marker;
    }

    public string Marker { get; }

    public int Pid => _process.Id;

    public static string RepoRoot { get; } = FindRepoRoot();

    public static string TrainTorchPy => Path.Combine(RepoRoot, "samples", "trainer", "train_torch.py");

    public static string TrainPy => Path.Combine(RepoRoot, "samples", "trainer", "train.py");

    public IReadOnlyList<string> Stdout
    {
        get
        {
            lock (_stdout)
            {
                return [.. _stdout];
            }
        }
    }

    public IReadOnlyList<string> Stderr
    {
        get
        {
            lock (_stderr)
            {
                return [.. _stderr];
            }
        }
    }

    /// <summary>The trainer alone: <c>python3 train_torch.py args</c>.</summary>
    public static TrainerProcess StartTrainer(params string[] args) => Start(PyTorchRequirement.Interpreter, [TrainTorchPy, .. args]);

    /// <summary>
    /// torchrun on one node with <paramref name="processes"/> workers. Rendezvous c10d on 127.0.0.1 port 0: the agent
    /// binds a free port itself, so parallel tests (and other engineers' runs) never share a store. (--standalone
    /// would use the fixed port 29400.) <c>-r 2 -t 2</c> because the default crashes on Python 3.11; logs go under
    /// <paramref name="logDir"/> (the default is a new /tmp/torchelastic_* directory that torchrun never removes).
    /// </summary>
    public static TrainerProcess StartTorchRun(int processes, int maxRestarts, string logDir, params string[] trainerArgs) =>
        Start(PyTorchRequirement.Interpreter,
        [
            "-m", "torch.distributed.run", "-r", "2", "-t", "2",
            "--nnodes", "1", "--nproc_per_node", processes.ToString(CultureInfo.InvariantCulture),
            "--rdzv_backend", "c10d", "--rdzv_endpoint", "127.0.0.1:0",
            "--max_restarts", maxRestarts.ToString(CultureInfo.InvariantCulture), "--monitor_interval", "1",
            "--log_dir", logDir,
            TrainTorchPy, .. trainerArgs,
        ]);

    /// <summary>
    /// One node of a multi-node torchrun group with the static rendezvous the Kubernetes rendering uses
    /// (<c>--master_addr</c>/<c>--master_port</c>/<c>--node_rank</c>): node 0's agent hosts the store on
    /// <paramref name="masterPort"/> and global ranks follow the node rank.
    /// </summary>
    public static TrainerProcess StartTorchRunNode(int nodes, int nodeRank, int masterPort, int processes, int maxRestarts, string logDir, params string[] trainerArgs) =>
        Start(PyTorchRequirement.Interpreter,
        [
            "-m", "torch.distributed.run", "-r", "2", "-t", "2",
            "--nnodes", nodes.ToString(CultureInfo.InvariantCulture), "--node_rank", nodeRank.ToString(CultureInfo.InvariantCulture),
            "--nproc_per_node", processes.ToString(CultureInfo.InvariantCulture),
            "--master_addr", "127.0.0.1", "--master_port", masterPort.ToString(CultureInfo.InvariantCulture),
            "--max_restarts", maxRestarts.ToString(CultureInfo.InvariantCulture), "--monitor_interval", "1",
            "--log_dir", logDir,
            TrainTorchPy, .. trainerArgs,
        ]);

    /// <summary>A loopback port for the static rendezvous (both agents must know it in advance): see TestPorts.</summary>
    public static int FreePort() => VisionPlatform.Training.TestSupport.TestPorts.Reserve();

    public static TrainerProcess Start(string fileName, IEnumerable<string> arguments)
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

        // A test runner started under torchrun must not make the trainer think it is a worker.
        foreach (var name in new[] { "WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "TORCHELASTIC_RESTART_COUNT", "OMP_NUM_THREADS" })
        {
            start.Environment.Remove(name);
        }

        var marker = Guid.NewGuid().ToString("N");
        start.Environment[MarkerVariable] = marker;
        var process = new Process { StartInfo = start };
        var result = new TrainerProcess(process, marker);
        process.OutputDataReceived += (_, e) => Add(result._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Add(result._stderr, e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return result;
    }

    /// <summary>Waits for the process to exit and for its output to be read; fails the test with the output on a hang.</summary>
    public async Task<int> WaitForExitAsync()
    {
        using var cts = new CancellationTokenSource(RunLimit, TimeProvider.System);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"process {Pid} did not exit within {RunLimit}; {Output}");
        }

        return _process.ExitCode;
    }

    /// <summary>Both streams, for assertion messages.</summary>
    public string Output => "stdout:\n" + string.Join('\n', Stdout) + "\nstderr:\n" + string.Join('\n', Stderr);

    /// <summary>Waits until <paramref name="condition"/> holds; fails with the output if the process exits first or it takes far too long.</summary>
    public async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var limit = TimeProvider.System.GetTimestamp();
        while (!condition())
        {
            if (_process.HasExited && !condition())
            {
                throw new InvalidOperationException($"process {Pid} exited with {_process.ExitCode} before {what}; {Output}");
            }

            if (TimeProvider.System.GetElapsedTime(limit) > RunLimit)
            {
                throw new TimeoutException($"waited {RunLimit} for {what}; {Output}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System);
        }
    }

    /// <summary>Live (not zombie) processes that carry this run's marker: the launcher, its workers, and any orphan.</summary>
    public IReadOnlyList<int> MarkedProcesses() => FindMarked(Marker);

    public static void Signal(int pid, int signal)
    {
        if (pid <= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(pid), pid, "a test never signals pid 0, 1 or a process group");
        }

        _ = NativeKill(pid, signal);
    }

    /// <summary><c>ranks/rank_&lt;r&gt;.json</c> written by the trainer with <c>--rank_files</c>, or null while it does not exist.</summary>
    public static JsonElement? ReadRankFile(string outputDir, int rank) => ReadJson(Path.Combine(outputDir, "ranks", $"rank_{rank}.json"));

    public static JsonElement? ReadJson(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            return doc.RootElement.Clone();
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Kill every marked process until none is left (a torchrun agent may start workers while this runs).
        for (var round = 0; round < 100; round++)
        {
            var marked = FindMarked(Marker);
            if (marked.Count == 0)
            {
                break;
            }

            foreach (var pid in marked)
            {
                Signal(pid, 9);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System);
        }

        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    private static List<int> FindMarked(string marker)
    {
        var entry = MarkerVariable + "=" + marker;
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                if (stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z'))
                {
                    continue;
                }

                if (File.ReadAllText(Path.Combine(dir, "environ")).Split('\0').Contains(entry))
                {
                    found.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone, or not ours to read.
            }
        }

        return found;
    }

    private static void Add(List<string> lines, string? line)
    {
        if (line is not null)
        {
            lock (lines)
            {
                lines.Add(line);
            }
        }
    }

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Training.Sdk.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Training.Sdk.sln not found above " + AppContext.BaseDirectory);
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int NativeKill(int pid, int signal);
}
