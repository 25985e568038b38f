using System.Text.Json;
using Microsoft.Extensions.Options;
using VisionPlatform.Training.Subprocess;
using VisionPlatform.Training.Trainers;

namespace VisionPlatform.Training.Benchmarks;

/// <summary>
/// A real <see cref="SubprocessTrainingExecutor"/> over a private runs directory running the demo trainer, plus the
/// helpers both sides of a pair need: the same command for the bare-Process baseline and the run's output directory.
/// </summary>
internal sealed class SdkHarness : IAsyncDisposable
{
    private int _next;

    public SdkHarness(string scenario)
    {
        RunsDirectory = Path.Combine(Path.GetTempPath(), $"vp-bench-{scenario}-{Environment.ProcessId}");
        Directory.CreateDirectory(RunsDirectory);
        var options = new TrainingOptions();
        options.Subprocess.Script = RepoPaths.TrainerScript;
        options.Subprocess.Interpreter = RepoPaths.PythonExecutable;
        options.Subprocess.RunsDirectory = RunsDirectory;
        options.Subprocess.MaxConcurrentRuns = 2;
        Executor = new SubprocessTrainingExecutor(Options.Create(options), new FlagTrainerContract());
    }

    public SubprocessTrainingExecutor Executor { get; }

    public string RunsDirectory { get; }

    /// <summary>A small valid job with a fresh id; <paramref name="environment"/> sets trainer knobs (VP_*).</summary>
    public TrainingJobConfig NewJob(string kind, IReadOnlyDictionary<string, string>? environment = null)
    {
        var builder = new TrainingJobConfigBuilder
        {
            JobId = $"bench-{kind}-{Interlocked.Increment(ref _next)}",
            Framework = TrainingFramework.Ultralytics,
            ModelName = "yolo11n",
            TaskType = "object_detection",
            DatasetPath = "coco8",
            DatasetFormat = "yolo",
            Epochs = 1,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            builder.Environment[name] = value;
        }

        return builder.Build();
    }

    /// <summary>
    /// The command the executor would run for <paramref name="config"/>, for the bare-Process baseline: same program,
    /// same arguments, same environment names (host-inherited values re-read from this process).
    /// </summary>
    /// <remarks>The baseline runs in its own directory outside the executor's runs directory.</remarks>
    public (LaunchCommand Command, string OutputDirectory) BaselineCommand(TrainingJobConfig config)
    {
        var plan = Executor.CreateLaunchPlan(config);
        var env = plan.Environment.ToDictionary(
            e => e.Name,
            e => e.Value ?? Environment.GetEnvironmentVariable(e.Name) ?? string.Empty,
            StringComparer.Ordinal);
        var directory = Path.Combine(BaselineDirectory, config.JobId);
        var output = Path.Combine(directory, "output");
        var sdkOutput = OutputDirectoryOf(plan);
        var args = plan.Arguments.Select(a => a == sdkOutput ? output : a).ToArray();
        return (new LaunchCommand(plan.FileName, args, env, directory), output);
    }

    /// <summary>Where bare-Process baseline runs keep their files.</summary>
    public string BaselineDirectory => RunsDirectory + "-baseline";

    /// <summary>Where the trainer writes for this job (the value of <c>--output_dir</c> in the plan).</summary>
    public string OutputDirectory(TrainingJobConfig config) => OutputDirectoryOf(Executor.CreateLaunchPlan(config));

    public static string OutputDirectoryOf(SubprocessLaunchPlan plan)
    {
        var args = plan.Arguments;
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] == "--output_dir" && i + 1 < args.Count)
            {
                return args[i + 1];
            }

            if (args[i] == "--config" && i + 1 < args.Count)
            {
                using var doc = JsonDocument.Parse(args[i + 1]);
                if (doc.RootElement.TryGetProperty("output_dir", out var dir) && dir.GetString() is { } path)
                {
                    return path;
                }
            }
        }

        throw new InvalidOperationException("The launch plan names no output directory.");
    }

    public async Task<TrainingRunStatus> WaitForEndAsync(TrainingRun run, CancellationToken cancellationToken)
    {
        await foreach (var status in Executor.WatchAsync(run, cancellationToken))
        {
            if (status.IsTerminal)
            {
                return status;
            }
        }

        return await Executor.GetStatusAsync(run, cancellationToken);
    }

    /// <summary>Removes a finished run's directory, so 1 GiB logs do not pile up on disk.</summary>
    public void Delete(TrainingJobConfig config)
    {
        foreach (var dir in new[] { Executor.CreateLaunchPlan(config).WorkingDirectory, Path.Combine(BaselineDirectory, config.JobId) })
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Executor.DisposeAsync();
        foreach (var dir in new[] { RunsDirectory, BaselineDirectory })
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }
}
