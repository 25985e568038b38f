using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Options;
using VisionPlatform.Training.Subprocess;
using VisionPlatform.Training.Testing;
using VisionPlatform.Training.Trainers;

namespace VisionPlatform.Training.Storage.Tests;

/// <summary>
/// Real subprocess runs of samples/trainer/train.py in a temporary runs directory. Disposing disposes every executor and
/// kills whatever trainer process group is still recorded, then deletes the directory.
/// </summary>
public sealed class SubprocessRuns : IAsyncDisposable
{
    private readonly List<SubprocessTrainingExecutor> _executors = [];
    private readonly List<IDisposable> _owned = [];

    public SubprocessRuns()
    {
        Root = Directory.CreateTempSubdirectory("vp-upload-runs-").FullName;
        RunsDirectory = Path.Combine(Root, "runs");
    }

    public string Root { get; }

    public string RunsDirectory { get; }

    public static string TrainPy { get; } = Path.Combine(FindRepoRoot(), "samples", "trainer", "train.py");

    /// <summary>The real Python binary (python3 may be a shim that adds variables of its own).</summary>
    public static string Python { get; } = FindPython();

    public TrainingOptions NewOptions()
    {
        var options = new TrainingOptions();
        Configure(options);
        return options;
    }

    public void Configure(TrainingOptions options)
    {
        options.DefaultExecutor = TrainingExecutorNames.Subprocess;
        options.Subprocess.Interpreter = Python;
        options.Subprocess.Script = TrainPy;
        options.Subprocess.RunsDirectory = RunsDirectory;
        options.Subprocess.StopGracePeriod = TimeSpan.FromSeconds(10);
        options.Subprocess.UploadRetryDelay = TimeSpan.FromMilliseconds(100);
    }

    public SubprocessTrainingExecutor CreateExecutor(TrainingOptions options, IArtifactStore? store, Microsoft.Extensions.Logging.ILogger<SubprocessTrainingExecutor>? logger = null)
    {
        var executor = new SubprocessTrainingExecutor(Options.Create(options), new FlagTrainerContract(), logger: logger, artifactStore: store);
        Track(executor);
        return executor;
    }

    public void Track(SubprocessTrainingExecutor executor)
    {
        lock (_executors)
        {
            _executors.Add(executor);
        }
    }

    public T Own<T>(T disposable)
        where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    public string RunDirectory(TrainingRun run) => Path.Combine(RunsDirectory, run.ResourceId);

    public string OutputDirectory(TrainingRun run) => Path.Combine(RunDirectory(run), "output");

    public string LogFile(TrainingRun run) => Path.Combine(RunDirectory(run), "train.log");

    public static TrainingJobConfig Job(string jobId, int epochs = 2, object? knobs = null)
    {
        var builder = SampleJobs.YoloBuilder(jobId, epochs);
        if (knobs is not null)
        {
            builder.WithAdvancedConfig(knobs);
        }

        return builder.Build();
    }

    /// <summary>Polls the status until the condition holds (generous deadline: the machine is shared).</summary>
    public static async Task<TrainingRunStatus> WaitForAsync(ITrainingExecutor executor, TrainingRun run, Func<TrainingRunStatus, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(90));
        while (true)
        {
            var status = await executor.GetStatusAsync(run);
            if (condition(status))
            {
                return status;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Run {run.JobId} did not reach the expected state; last: {status.Phase}/{status.Reason} upload {status.ArtifactUpload}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>A loopback port with nothing listening on it (storage that is down).</summary>
    public static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>Every regular file under a directory by its '/'-separated relative path.</summary>
    public static Dictionary<string, string> FilesUnder(string directory) =>
        Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(directory, f).Replace(Path.DirectorySeparatorChar, '/'), f => f, StringComparer.Ordinal);

    public async ValueTask DisposeAsync()
    {
        SubprocessTrainingExecutor[] executors;
        lock (_executors)
        {
            executors = [.. _executors];
        }

        foreach (var executor in executors)
        {
            await executor.DisposeAsync();
        }

        foreach (var owned in _owned)
        {
            owned.Dispose();
        }

        // Whatever trainer is still recorded as running: kill its process group.
        if (Directory.Exists(RunsDirectory))
        {
            foreach (var state in Directory.EnumerateFiles(RunsDirectory, "state.json", SearchOption.AllDirectories))
            {
                try
                {
                    using var doc = JsonDocument.Parse(File.ReadAllText(state));
                    if (doc.RootElement.GetProperty("phase").GetString() == "Running" &&
                        doc.RootElement.GetProperty("pid") is { ValueKind: JsonValueKind.Number } pid)
                    {
                        Kill(-pid.GetInt32());
                    }
                }
                catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException)
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

    private static void Kill(int pidOrGroup)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-9", "--", pidOrGroup.ToString(System.Globalization.CultureInfo.InvariantCulture) }, UseShellExecute = false, RedirectStandardError = true });
        kill?.WaitForExit(5000);
    }

    private static string FindPython()
    {
        var info = new ProcessStartInfo("python3") { RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("import sys; print(sys.executable)");
        using var process = Process.Start(info)!;
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
