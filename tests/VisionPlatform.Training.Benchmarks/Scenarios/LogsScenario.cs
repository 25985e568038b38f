using System.Diagnostics;
using System.Globalization;

namespace VisionPlatform.Training.Benchmarks.Scenarios;

/// <summary>
/// Log throughput: a trainer writes <c>--size-mb</c> MiB of 100-byte lines as fast as it can (train.py's
/// <c>log_bytes</c> knob, set through the job's environment as <c>VP_LOG_BYTES</c>). The SDK side follows the run's
/// log with <c>GetLogsAsync(Follow = true)</c> from start to end; the baseline reads the same command's stdout through
/// a <see cref="Process"/> redirect, line by line. Both count every byte, so a lost or duplicated line fails the run.
/// Memory: this process's working set is sampled every 10 ms during each SDK run; the growth over the value before
/// the run is reported (the largest seen over all runs), with the process's overall peak working set.
/// </summary>
internal sealed class LogsScenario : IBenchmarkScenario
{
    private const double MiB = 1024 * 1024;
    private const int DefaultRuns = 20;

    public string Name => "logs";

    public string Description => "GetLogsAsync(Follow) throughput of a 1 GiB log vs reading the child's stdout directly";

    public async Task<IReadOnlyList<BenchmarkResult>> RunAsync(BenchmarkOptions options, TextWriter progress, CancellationToken cancellationToken)
    {
        var sizeMb = options.SizeMb ?? 1024;
        // 20 pairs of 1 GiB (40 GiB through the disk) took about 4 minutes on the loaded 2-core build machine; use
        // --runs 5 (or --size-mb) for a quicker look. Reported as logs.paired_runs.
        var runs = options.Runs ?? DefaultRuns;
        var bytes = (long)sizeMb * 1024 * 1024;
        await using var harness = new SdkHarness("logs");
        var env = new Dictionary<string, string>(StringComparer.Ordinal) { ["VP_LOG_BYTES"] = bytes.ToString(CultureInfo.InvariantCulture) };
        var sdk = new List<double>();
        var raw = new List<double>();
        var ratios = new List<double>();
        long growth = 0;
        var peakBefore = MemorySampler.Peak();
        var total = Stopwatch.StartNew();
        for (var i = -Math.Min(options.Warmup, 1); i < runs; i++)
        {
            double sdkRate, rawRate;
            long sdkGrowth;
            if (i % 2 == 0)
            {
                (sdkRate, sdkGrowth) = await MeasureSdkAsync(harness, env, bytes, cancellationToken);
                rawRate = await MeasureRawAsync(harness, env, bytes, cancellationToken);
            }
            else
            {
                rawRate = await MeasureRawAsync(harness, env, bytes, cancellationToken);
                (sdkRate, sdkGrowth) = await MeasureSdkAsync(harness, env, bytes, cancellationToken);
            }

            if (i < 0)
            {
                continue;
            }

            sdk.Add(sdkRate);
            raw.Add(rawRate);
            ratios.Add(sdkRate / rawRate);
            growth = Math.Max(growth, sdkGrowth);
            progress.WriteLine($"logs pair {i + 1}/{runs} ({sizeMb} MiB): sdk {sdkRate:0} MiB/s, raw {rawRate:0} MiB/s, working set growth {sdkGrowth / MiB:0.0} MiB ({total.Elapsed.TotalSeconds:0} s so far)");
        }

        return
        [
            new("logs.paired_runs", runs.ToString(CultureInfo.InvariantCulture)),
            new("logs.note", runs < 20 ? $"only {runs} paired runs (fewer than 20): a quick look, not a measurement of record" : $"{runs} paired runs"),
            new("logs.size_mb", sizeMb.ToString(CultureInfo.InvariantCulture)),
            BenchmarkResult.Of("logs.sdk_mb_s", Stats.Median(sdk), "0"),
            BenchmarkResult.Of("logs.raw_mb_s", Stats.Median(raw), "0"),
            BenchmarkResult.Of("logs.ratio", Stats.Median(ratios)),
            BenchmarkResult.Of("logs.ratio_of_medians", Stats.Median(sdk) / Stats.Median(raw)),
            BenchmarkResult.Of("logs.peak_rss_growth_mb", growth / MiB, "0.0"),
            BenchmarkResult.Of("logs.peak_working_set_growth_mb", Math.Max(0, MemorySampler.Peak() - peakBefore) / MiB, "0.0"),
            BenchmarkResult.Of("logs.elapsed_s", total.Elapsed.TotalSeconds, "0"),
        ];
    }

    private static async Task<(double MibPerSecond, long GrowthBytes)> MeasureSdkAsync(
        SdkHarness harness, IReadOnlyDictionary<string, string> env, long expected, CancellationToken cancellationToken)
    {
        var job = harness.NewJob("logs-sdk", env);
        Settle();
        await using var memory = new MemorySampler();
        var clock = Stopwatch.StartNew();
        var run = await harness.Executor.StartAsync(job, cancellationToken);
        long seen = 0;
        await foreach (var line in harness.Executor.GetLogsAsync(run, new TrainingLogOptions { Follow = true }, cancellationToken))
        {
            seen += line.Text.Length + 1;
        }

        var seconds = clock.Elapsed.TotalSeconds;
        var growth = memory.GrowthBytes;
        var status = await harness.WaitForEndAsync(run, cancellationToken);
        harness.Delete(job);
        Check("SDK", job, status.ExitCode, seen, expected);
        return (expected / MiB / seconds, growth);
    }

    private static async Task<double> MeasureRawAsync(
        SdkHarness harness, IReadOnlyDictionary<string, string> env, long expected, CancellationToken cancellationToken)
    {
        var job = harness.NewJob("logs-raw", env);
        var (command, _) = harness.BaselineCommand(job);
        Settle();
        var clock = Stopwatch.StartNew();
        using var process = command.Start();
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        long seen = 0;
        while (await process.StandardOutput.ReadLineAsync(cancellationToken) is { } line)
        {
            seen += line.Length + 1;
        }

        var seconds = clock.Elapsed.TotalSeconds;
        await process.WaitForExitAsync(cancellationToken);
        _ = await errors;
        harness.Delete(job);
        Check("baseline", job, process.ExitCode, seen, expected);
        return expected / MiB / seconds;
    }

    private static void Check(string side, TrainingJobConfig job, int? exitCode, long seen, long expected)
    {
        if (exitCode != 0 || seen != expected)
        {
            throw new InvalidOperationException($"{side} run {job.JobId}: exit code {exitCode?.ToString(CultureInfo.InvariantCulture) ?? "(none)"}, read {seen} bytes of {expected}.");
        }
    }

    private static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }
}
