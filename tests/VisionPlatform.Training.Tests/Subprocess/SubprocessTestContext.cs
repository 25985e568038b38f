using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Extensions.Options;
using VisionPlatform.Training.Subprocess;
using VisionPlatform.Training.Testing;
using VisionPlatform.Training.Trainers;

namespace VisionPlatform.Training.Tests.Subprocess;

/// <summary>A temporary runs directory and the executors over it; kills every trainer process tree on dispose.</summary>
public sealed class SubprocessTestContext : IAsyncDisposable
{
    private readonly List<SubprocessTrainingExecutor> _executors = [];

    public SubprocessTestContext()
    {
        Root = Path.Combine(Path.GetTempPath(), "vp-subprocess-tests", Guid.NewGuid().ToString("N"));
        RunsDirectory = Path.Combine(Root, "runs");
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public string RunsDirectory { get; }

    public static string RepoRoot { get; } = FindRepoRoot();

    public static string TrainPy => Path.Combine(RepoRoot, "samples", "trainer", "train.py");

    public static string ProbePy => Path.Combine(RepoRoot, "tests", "VisionPlatform.Training.Tests", "Subprocess", "Scripts", "probe.py");

    /// <summary>The real Python binary (python3 may be a shell shim, for example pyenv's, that adds variables of its own).</summary>
    public static string Python { get; } = FindPython();

    public TrainingOptions NewOptions(string? script = null, int maxConcurrentRuns = 4)
    {
        var options = new TrainingOptions();
        options.Subprocess.Interpreter = Python;
        options.Subprocess.RunsDirectory = RunsDirectory;
        options.Subprocess.Script = script ?? TrainPy;
        options.Subprocess.MaxConcurrentRuns = maxConcurrentRuns;
        options.Subprocess.StopGracePeriod = TimeSpan.FromSeconds(10);
        return options;
    }

    public SubprocessTrainingExecutor CreateExecutor(TrainingOptions options, ITrainerContract? contract = null) =>
        Track(new SubprocessTrainingExecutor(Options.Create(options), contract ?? new FlagTrainerContract()));

    /// <summary>An executor that publishes to <paramref name="events"/>, as the DI container creates it.</summary>
    internal SubprocessTrainingExecutor CreatePublishingExecutor(TrainingOptions options, ITrainingEventPublisher? events, TrainingCostCalculator? cost = null) =>
        Track(new SubprocessTrainingExecutor(Options.Create(options), new FlagTrainerContract(), TimeProvider.System, logger: null, artifactStore: null, events, cost));

    /// <summary>Registers an executor created elsewhere, so its runs are stopped and it is disposed with the context.</summary>
    public SubprocessTrainingExecutor Track(SubprocessTrainingExecutor executor)
    {
        lock (_executors)
        {
            _executors.Add(executor);
        }

        return executor;
    }

    public SubprocessTrainingExecutor CreateExecutor(string? script = null, int maxConcurrentRuns = 4) =>
        CreateExecutor(NewOptions(script, maxConcurrentRuns));

    public static TrainingJobConfigBuilder Job(string jobId, int epochs = 2, object? knobs = null)
    {
        var builder = SampleJobs.YoloBuilder(jobId, epochs);
        if (knobs is not null)
        {
            builder.WithAdvancedConfig(knobs);
        }

        return builder;
    }

    public static async Task<TrainingRunStatus> WaitForAsync(TrainingOperation operation, Func<TrainingRunStatus, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var status = await operation.UpdateStatusAsync();
            if (condition(status) || DateTime.UtcNow > deadline)
            {
                return condition(status) ? status : throw new TimeoutException($"Run {operation.JobId} did not reach the expected state; last: {status.Phase}/{status.Reason} {status.Message}");
            }

            await Task.Delay(50);
        }
    }

    public static async Task<TrainingRunStatus> WaitForAsync(
        ITrainingExecutor executor,
        TrainingRun run,
        Func<TrainingRunStatus, bool> condition,
        TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var status = await executor.GetStatusAsync(run);
            if (condition(status))
            {
                return status;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Run {run.JobId} did not reach the expected state; last: {status.Phase}/{status.Reason} {status.Message}");
            }

            await Task.Delay(50);
        }
    }

    public static Task<TrainingRunStatus> WaitTerminalAsync(ITrainingExecutor executor, TrainingRun run, TimeSpan? timeout = null) =>
        WaitForAsync(executor, run, s => s.IsTerminal, timeout);

    public static async Task<T> PollAsync<T>(Func<T?> probe, TimeSpan? timeout = null, string? what = null)
        where T : class
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            if (probe() is { } value)
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Timed out waiting for " + (what ?? "a condition"));
            }

            await Task.Delay(50);
        }
    }

    public string RunDirectory(TrainingRun run) => Path.Combine(RunsDirectory, run.ResourceId);

    public JsonDocument? TryReadRunJson(TrainingRun run)
    {
        var path = Path.Combine(RunDirectory(run), "output", "run.json");
        try
        {
            return File.Exists(path) ? JsonDocument.Parse(File.ReadAllText(path)) : null;
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return null;
        }
    }

    public int? ReadPid(TrainingRun run)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(RunDirectory(run), "state.json")));
        var pid = doc.RootElement.GetProperty("pid");
        return pid.ValueKind == JsonValueKind.Number ? pid.GetInt32() : null;
    }

    public static async Task<List<string>> ReadLogAsync(ITrainingExecutor executor, TrainingRun run, TrainingLogOptions? options = null)
    {
        var lines = new List<string>();
        await foreach (var line in executor.GetLogsAsync(run, options))
        {
            lines.Add(line.Text);
        }

        return lines;
    }

    /// <summary>Pids of every live process in the session or process group <paramref name="sid"/>, including the leader.</summary>
    public static List<int> SessionMembers(int sid)
    {
        var members = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            var stat = ReadStat(pid);
            if (stat is { } s && s.State != 'Z' && (s.Session == sid || s.Group == sid))
            {
                members.Add(pid);
            }
        }

        return members;
    }

    public static bool IsAlive(int pid) => ReadStat(pid) is { } s && s.State != 'Z';

    public static (char State, int Group, int Session, long Start)? ReadStat(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            return (fields[0][0], int.Parse(fields[2], CultureInfo.InvariantCulture), int.Parse(fields[3], CultureInfo.InvariantCulture), long.Parse(fields[19], CultureInfo.InvariantCulture));
        }
        catch (IOException)
        {
            return null;
        }
    }

    public static void Kill(int pid, int signal) => _ = NativeKill(pid, signal);

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int NativeKill(int pid, int signal);

    public async ValueTask DisposeAsync()
    {
        SubprocessTrainingExecutor[] executors;
        lock (_executors)
        {
            executors = [.. _executors];
        }

        foreach (var executor in executors)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                foreach (var status in await executor.ListAsync(cancellationToken: cts.Token))
                {
                    if (!status.IsTerminal)
                    {
                        await executor.StopAsync(status.Run, new TrainingStopOptions { GracePeriod = TimeSpan.Zero }, cts.Token);
                    }
                }
            }
            catch (Exception e) when (e is OperationCanceledException or TrainingException or IOException)
            {
                // Fall through to the hard kill below.
            }

            await executor.DisposeAsync();
        }

        // Whatever is still recorded as a process: kill its whole session, whoever owns it.
        if (Directory.Exists(RunsDirectory))
        {
            foreach (var state in Directory.EnumerateFiles(RunsDirectory, "state.json", SearchOption.AllDirectories))
            {
                try
                {
                    using var doc = JsonDocument.Parse(File.ReadAllText(state));
                    if (doc.RootElement.TryGetProperty("pid", out var pid) && pid.ValueKind == JsonValueKind.Number)
                    {
                        var leader = pid.GetInt32();
                        foreach (var member in SessionMembers(leader))
                        {
                            Kill(member, 9);
                        }
                    }
                }
                catch (Exception e) when (e is IOException or JsonException)
                {
                }
            }
        }

        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string FindPython()
    {
        var info = new System.Diagnostics.ProcessStartInfo("python3") { RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("import sys; print(sys.executable)");
        using var process = System.Diagnostics.Process.Start(info)!;
        var path = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return path;
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
}
