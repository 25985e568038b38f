using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using VisionPlatform.Training.Subprocess;
using VisionPlatform.Training.Trainers;

namespace VisionPlatform.Training.Benchmarks.Scenarios;

/// <summary>
/// How long until every rank of a distributed job is up: <see cref="SubprocessTrainingExecutor.StartAsync"/> of a PyTorch
/// job of 1, 2 and 4 processes (torchrun and the reference trainer samples/trainer/train_torch.py, gloo on the CPU)
/// against a bare <see cref="Process.Start()"/> of the same command (the launch plan's program, arguments and
/// environment; its own output and torchrun log directories and rendezvous id). The signal, identical for both: each
/// rank's first line, <c>... world_size=N rank=R restart=0 ...</c>, which the trainer prints once its process group is
/// formed (rank 0 on stdout, the others on stderr prefixed <c>[default&lt;r&gt;]:</c> by torchrun): read through
/// <c>GetLogsAsync(Follow = true)</c> for the SDK, from redirected stdout and stderr for the baseline. Pairs alternate
/// which side goes first. Needs torch for /usr/bin/python3.
/// </summary>
internal sealed partial class DistributedScenario : IBenchmarkScenario
{
    private const string TorchPython = "/usr/bin/python3";
    private static readonly int[] WorldSizes = [1, 2, 4];
    private static readonly TimeSpan RunLimit = TimeSpan.FromMinutes(3);
    private int _next;

    public string Name => "distributed";

    public string Description => "StartAsync until every rank of a 1/2/4-process torchrun job prints vs the same torchrun command by hand";

    public async Task<IReadOnlyList<BenchmarkResult>> RunAsync(BenchmarkOptions options, TextWriter progress, CancellationToken cancellationToken)
    {
        var runs = options.Runs ?? 5;
        var root = Path.Combine(Path.GetTempPath(), $"vp-bench-distributed-{Environment.ProcessId}");
        var trainingOptions = new TrainingOptions();
        trainingOptions.Subprocess.RunsDirectory = Path.Combine(root, "runs");
        trainingOptions.Subprocess.Interpreter = TorchPython;
        trainingOptions.Subprocess.Script = RepoPaths.TrainerScript;
        trainingOptions.Subprocess.Frameworks[TrainingFramework.PyTorch.Value] = new SubprocessFrameworkOptions
        {
            Interpreter = TorchPython,
            Script = Path.Combine(Path.GetDirectoryName(RepoPaths.TrainerScript)!, "train_torch.py"),
        };
        trainingOptions.Subprocess.MaxConcurrentRuns = 1;
        trainingOptions.Subprocess.Distributed.MaxRestarts = 0;
        var results = new List<BenchmarkResult> { new("distributed.paired_runs", runs.ToString(CultureInfo.InvariantCulture)) };
        var executor = new SubprocessTrainingExecutor(Options.Create(trainingOptions), new FlagTrainerContract());
        try
        {
            foreach (var worldSize in WorldSizes)
            {
                var sdk = new List<double>();
                var raw = new List<double>();
                var ratios = new List<double>();
                for (var i = -options.Warmup; i < runs; i++)
                {
                    double s, r;
                    if (i % 2 == 0)
                    {
                        s = await MeasureSdkAsync(executor, worldSize, cancellationToken);
                        r = await MeasureRawAsync(executor, worldSize, root, cancellationToken);
                    }
                    else
                    {
                        r = await MeasureRawAsync(executor, worldSize, root, cancellationToken);
                        s = await MeasureSdkAsync(executor, worldSize, cancellationToken);
                    }

                    if (i < 0)
                    {
                        continue;
                    }

                    sdk.Add(s);
                    raw.Add(r);
                    ratios.Add(s / r);
                    progress.WriteLine($"distributed {worldSize} rank(s), pair {i + 1}/{runs}: every rank up after sdk {s:0} ms, raw {r:0} ms");
                }

                var key = $"distributed.{worldSize.ToString(CultureInfo.InvariantCulture)}";
                results.Add(BenchmarkResult.Of($"{key}.sdk_ms", Stats.Median(sdk), "0"));
                results.Add(BenchmarkResult.Of($"{key}.raw_ms", Stats.Median(raw), "0"));
                results.Add(BenchmarkResult.Of($"distributed.ratio_{worldSize.ToString(CultureInfo.InvariantCulture)}", Stats.Median(ratios)));
            }
        }
        finally
        {
            await executor.DisposeAsync();
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }

        return results;
    }

    private TrainingJobConfig NewJob(string side, int worldSize) => new TrainingJobConfigBuilder
    {
        JobId = $"bench-distributed-{side}-{worldSize}-{Interlocked.Increment(ref _next)}",
        Framework = TrainingFramework.PyTorch,
        ModelName = "tiny_cnn",
        TaskType = "classification",
        DatasetPath = "synthetic",
        DatasetFormat = "generated",
        Epochs = 1,
        Distribution = new TrainingDistribution { ProcessesPerNode = worldSize },
    }.Build();

    private async Task<double> MeasureSdkAsync(SubprocessTrainingExecutor executor, int worldSize, CancellationToken cancellationToken)
    {
        var job = NewJob("sdk", worldSize);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(RunLimit);
        var seen = new HashSet<int>();
        var clock = Stopwatch.StartNew();
        var run = await executor.StartAsync(job, limit.Token);
        double? everyRank = null;
        await foreach (var line in executor.GetLogsAsync(run, new TrainingLogOptions { Follow = true }, limit.Token))
        {
            if (everyRank is null && FirstLine(line.Text, worldSize) is { } rank && seen.Add(rank) && seen.Count == worldSize)
            {
                everyRank = clock.Elapsed.TotalMilliseconds;
            }
        }

        var status = await executor.GetStatusAsync(run, limit.Token);
        if (status.Phase != TrainingPhase.Succeeded || everyRank is null)
        {
            throw new InvalidOperationException($"SDK run {job.JobId} ended {status.Phase} ({status.Reason}) with ranks [{string.Join(',', seen)}] heard: {status.Message}");
        }

        Directory.Delete(executor.CreateLaunchPlan(job).WorkingDirectory, recursive: true);
        return everyRank.Value;
    }

    private async Task<double> MeasureRawAsync(SubprocessTrainingExecutor executor, int worldSize, string root, CancellationToken cancellationToken)
    {
        var job = NewJob("raw", worldSize);
        var plan = executor.CreateLaunchPlan(job);
        var directory = Path.Combine(root, "baseline", job.JobId);
        var rewrite = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [SdkHarness.OutputDirectoryOf(plan)] = Path.Combine(directory, "output"),
            [Path.Combine(plan.WorkingDirectory, "torchrun")] = Path.Combine(directory, "torchrun"),
        };
        var arguments = plan.Arguments.Select(a => rewrite.GetValueOrDefault(a, a)).ToArray();
        var environment = plan.Environment.ToDictionary(e => e.Name, e => e.Value ?? Environment.GetEnvironmentVariable(e.Name) ?? string.Empty, StringComparer.Ordinal);
        var command = new LaunchCommand(plan.FileName, arguments, environment, directory);

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(RunLimit);
        var seen = new HashSet<int>();
        var gate = new object();
        double? everyRank = null;
        var clock = Stopwatch.StartNew();
        using var process = command.Start();
        async Task ReadAsync(StreamReader reader)
        {
            while (await reader.ReadLineAsync(limit.Token) is { } line)
            {
                lock (gate)
                {
                    if (everyRank is null && FirstLine(line, worldSize) is { } rank && seen.Add(rank) && seen.Count == worldSize)
                    {
                        everyRank = clock.Elapsed.TotalMilliseconds;
                    }
                }
            }
        }

        try
        {
            await Task.WhenAll(ReadAsync(process.StandardOutput), ReadAsync(process.StandardError));
            await process.WaitForExitAsync(limit.Token);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        if (process.ExitCode != 0 || everyRank is null)
        {
            throw new InvalidOperationException($"Baseline {job.JobId} exited {process.ExitCode} with ranks [{string.Join(',', seen)}] heard.");
        }

        Directory.Delete(directory, recursive: true);
        return everyRank.Value;
    }

    /// <summary>The rank whose first line this is (the trainer's start line, with torchrun's prefix or not), else null.</summary>
    private static int? FirstLine(string line, int worldSize) =>
        StartLine().Match(line) is { Success: true } m &&
        int.Parse(m.Groups["world"].ValueSpan, CultureInfo.InvariantCulture) == worldSize
            ? int.Parse(m.Groups["rank"].ValueSpan, CultureInfo.InvariantCulture)
            : null;

    [GeneratedRegex(@"world_size=(?<world>\d+) rank=(?<rank>\d+) restart=0 ", RegexOptions.CultureInvariant)]
    private static partial Regex StartLine();
}
