using System.Diagnostics;

namespace VisionPlatform.Training.Benchmarks.Scenarios;

/// <summary>
/// How long until the trainer is running: <see cref="SubprocessTrainingExecutor.StartAsync"/> against a bare
/// <see cref="Process.Start()"/> of the same command (same program, arguments and environment).
/// Readiness signal, identical for both: the trainer's <c>run.json</c> exists (train.py writes it once the interpreter
/// is up and has parsed its arguments), polled every millisecond. Also reported: the time to the first log line, read
/// through <c>GetLogsAsync(Follow = true)</c> for the SDK and from redirected stdout for the baseline.
/// </summary>
internal sealed class SpawnScenario : IBenchmarkScenario
{
    public string Name => "spawn";

    public string Description => "StartAsync until the trainer runs vs a bare Process.Start of the same command";

    public async Task<IReadOnlyList<BenchmarkResult>> RunAsync(BenchmarkOptions options, TextWriter progress, CancellationToken cancellationToken)
    {
        var runs = options.Runs ?? 20;
        await using var harness = new SdkHarness("spawn");
        var sdk = new List<double>();
        var raw = new List<double>();
        var ratios = new List<double>();
        var sdkFirstLine = new List<double>();
        var sdkCall = new List<double>();
        var rawCall = new List<double>();
        var rawFirstLine = new List<double>();
        for (var i = -options.Warmup; i < runs; i++)
        {
            // Alternate who goes first, so warm caches and background load do not favour one side.
            (Sample Sdk, Sample Raw) pair;
            if (i % 2 == 0)
            {
                var s = await MeasureSdkAsync(harness, cancellationToken);
                pair = (s, await MeasureRawAsync(harness, cancellationToken));
            }
            else
            {
                var r = await MeasureRawAsync(harness, cancellationToken);
                pair = (await MeasureSdkAsync(harness, cancellationToken), r);
            }

            if (i < 0)
            {
                continue;
            }

            sdk.Add(pair.Sdk.ReadyMs);
            raw.Add(pair.Raw.ReadyMs);
            ratios.Add(pair.Sdk.ReadyMs / pair.Raw.ReadyMs);
            sdkFirstLine.Add(pair.Sdk.FirstLineMs);
            rawFirstLine.Add(pair.Raw.FirstLineMs);
            sdkCall.Add(pair.Sdk.StartCallMs);
            rawCall.Add(pair.Raw.StartCallMs);
            progress.WriteLine($"spawn pair {i + 1}/{runs}: sdk {pair.Sdk.ReadyMs:0.0} ms, raw {pair.Raw.ReadyMs:0.0} ms; first line sdk {pair.Sdk.FirstLineMs:0.0} ms, raw {pair.Raw.FirstLineMs:0.0} ms");
        }

        return
        [
            new("spawn.paired_runs", runs.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            BenchmarkResult.Of("spawn.sdk_ms", Stats.Median(sdk), "0.0"),
            BenchmarkResult.Of("spawn.raw_ms", Stats.Median(raw), "0.0"),
            BenchmarkResult.Of("spawn.ratio", Stats.Median(ratios)),
            BenchmarkResult.Of("spawn.ratio_of_medians", Stats.Median(sdk) / Stats.Median(raw)),
            BenchmarkResult.Of("spawn.sdk_ms_p90", Stats.Percentile(sdk, 90), "0.0"),
            BenchmarkResult.Of("spawn.raw_ms_p90", Stats.Percentile(raw, 90), "0.0"),
            BenchmarkResult.Of("spawn.start_call.sdk_ms", Stats.Median(sdkCall), "0.0"),
            BenchmarkResult.Of("spawn.start_call.raw_ms", Stats.Median(rawCall), "0.0"),
            BenchmarkResult.Of("spawn.first_line.sdk_ms", Stats.Median(sdkFirstLine), "0.0"),
            BenchmarkResult.Of("spawn.first_line.raw_ms", Stats.Median(rawFirstLine), "0.0"),
            BenchmarkResult.Of("spawn.first_line.ratio", Stats.Median(sdkFirstLine.Zip(rawFirstLine, (s, r) => s / r).ToArray())),
        ];
    }

    private static async Task<Sample> MeasureSdkAsync(SdkHarness harness, CancellationToken cancellationToken)
    {
        var job = harness.NewJob("spawn-sdk");
        var ready = Path.Combine(harness.OutputDirectory(job), "run.json");
        var clock = Stopwatch.StartNew();
        var run = await harness.Executor.StartAsync(job, cancellationToken);
        var startCallMs = clock.Elapsed.TotalMilliseconds;
        var firstLine = Task.Run(
            async () =>
            {
                await foreach (var _ in harness.Executor.GetLogsAsync(run, new TrainingLogOptions { Follow = true }, cancellationToken))
                {
                    return clock.Elapsed.TotalMilliseconds;
                }

                throw new InvalidOperationException($"Job {job.JobId} wrote no log line.");
            },
            cancellationToken);
        var readyMs = WaitForFile(ready, clock, cancellationToken);
        var firstLineMs = await firstLine;
        var status = await harness.WaitForEndAsync(run, cancellationToken);
        if (status.Phase != TrainingPhase.Succeeded)
        {
            throw new InvalidOperationException($"SDK run {job.JobId} ended {status.Phase} ({status.Reason}): {status.Message}");
        }

        harness.Delete(job);
        return new Sample(readyMs, firstLineMs, startCallMs);
    }

    private static async Task<Sample> MeasureRawAsync(SdkHarness harness, CancellationToken cancellationToken)
    {
        var job = harness.NewJob("spawn-raw");
        var (command, output) = harness.BaselineCommand(job);
        var ready = Path.Combine(output, "run.json");
        var clock = Stopwatch.StartNew();
        using var process = command.Start();
        var startCallMs = clock.Elapsed.TotalMilliseconds;
        var firstLine = Task.Run(
            async () =>
            {
                _ = await process.StandardOutput.ReadLineAsync(cancellationToken)
                    ?? throw new InvalidOperationException($"Baseline {job.JobId} wrote no line.");
                return clock.Elapsed.TotalMilliseconds;
            },
            cancellationToken);
        var readyMs = WaitForFile(ready, clock, cancellationToken);
        var firstLineMs = await firstLine;
        var drain = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        await drain;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"Baseline {job.JobId} exited {process.ExitCode}: {await errors}");
        }

        harness.Delete(job);
        return new Sample(readyMs, firstLineMs, startCallMs);
    }

    private static double WaitForFile(string path, Stopwatch clock, CancellationToken cancellationToken)
    {
        var deadline = TimeSpan.FromSeconds(60);
        while (!File.Exists(path))
        {
            if (clock.Elapsed > deadline)
            {
                throw new TimeoutException($"{path} did not appear within {deadline.TotalSeconds} s.");
            }

            // A blocking 1 ms sleep polls more evenly than Task.Delay, whose timer granularity varies.
            cancellationToken.ThrowIfCancellationRequested();
            Thread.Sleep(1);
        }

        return clock.Elapsed.TotalMilliseconds;
    }

    /// <param name="ReadyMs">Until run.json exists.</param>
    /// <param name="FirstLineMs">Until the first log line is read.</param>
    /// <param name="StartCallMs">Until StartAsync / Process.Start returned (diagnostic: where the time goes).</param>
    private readonly record struct Sample(double ReadyMs, double FirstLineMs, double StartCallMs);
}
