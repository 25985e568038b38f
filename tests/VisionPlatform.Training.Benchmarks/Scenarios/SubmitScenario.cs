using System.Diagnostics;
using System.Globalization;
using k8s;
using Microsoft.Extensions.DependencyInjection;
using VisionPlatform.Training.Benchmarks.Children;
using VisionPlatform.Training.Kubernetes;
using VisionPlatform.Training.Testing;

namespace VisionPlatform.Training.Benchmarks.Scenarios;

/// <summary>
/// Submitting a Job: <see cref="KubernetesTrainingExecutor.StartAsync(TrainingJobConfig, CancellationToken)"/> (spec
/// building, local validation, one create call) against a bare KubernetesClient create of the same, pre-built Job.
/// Both talk HTTP to the test cluster (API server only, in a child process by default, so this process holds only the
/// client side and <see cref="GC.GetTotalAllocatedBytes(bool)"/> around a call is the client's own allocation); API
/// calls per start are counted from the cluster's request log. Then 1,000 concurrent StartAsync calls: errors, and
/// job ids that got more than one Job.
/// </summary>
internal sealed class SubmitScenario : IBenchmarkScenario
{
    private const string Namespace = ClusterControl.Namespace;

    public string Name => "submit";

    public string Description => "Kubernetes StartAsync vs a bare KubernetesClient create of the same Job (test cluster); 1,000 concurrent starts";

    public async Task<IReadOnlyList<BenchmarkResult>> RunAsync(BenchmarkOptions options, TextWriter progress, CancellationToken cancellationToken)
    {
        var runs = options.Runs ?? 300;
        await using var cluster = await BenchCluster.StartAsync(ClusterProfile.Api, !options.InProcessCluster, 10_000, cancellationToken);
        progress.WriteLine($"submit: test cluster in {cluster.Where}");

        var services = new ServiceCollection();
        services.AddLogging();
        services
            .AddTrainingExecutors(o => o.DefaultExecutor = KubernetesExecutorInfo.ExecutorName)
            .AddKubernetes(o =>
            {
                o.Namespace = Namespace;
                o.Connection.Host = cluster.Url.ToString();
            });
        await using var provider = services.BuildServiceProvider();
        var executor = provider.GetRequiredService<KubernetesTrainingExecutor>();
        var specs = provider.GetRequiredService<TrainingJobSpecBuilder>();
        using var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = cluster.Url.ToString().TrimEnd('/') });

        // The same bare create through the SDK's retry handler: what the client pipeline alone adds to a start.
        using var handled = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = cluster.Url.ToString().TrimEnd('/') }, new KubernetesResilienceHandler(new KubernetesResilienceOptions()));

        var sdk = new List<double>();
        var raw = new List<double>();
        var ratios = new List<double>();
        var requests = new List<double>();
        var sdkBytes = new List<double>();
        var rawBytes = new List<double>();
        var pipelineUs = new List<double>();
        var ownUs = new List<double>();
        for (var i = -options.Warmup; i < runs; i++)
        {
            var sdkJob = NewJob($"submit-sdk-{i + options.Warmup}");
            var rawJob = specs.Build(NewJob($"submit-raw-{i + options.Warmup}"));
            double sdkMs, rawMs;
            long sdkAllocated, rawAllocated;
            int calls;
            if (i % 2 == 0)
            {
                (sdkMs, sdkAllocated, calls) = await MeasureSdkAsync(executor, cluster, sdkJob, cancellationToken);
                (rawMs, rawAllocated) = await MeasureRawAsync(client, rawJob, cancellationToken);
            }
            else
            {
                (rawMs, rawAllocated) = await MeasureRawAsync(client, rawJob, cancellationToken);
                (sdkMs, sdkAllocated, calls) = await MeasureSdkAsync(executor, cluster, sdkJob, cancellationToken);
            }

            var handledJob = specs.Build(NewJob($"submit-handled-{i + options.Warmup}"));
            var bareJob = specs.Build(NewJob($"submit-bare-{i + options.Warmup}"));
            double handledMs, bareMs;
            if (i % 2 == 0)
            {
                (handledMs, _) = await MeasureRawAsync(handled, handledJob, cancellationToken);
                (bareMs, _) = await MeasureRawAsync(client, bareJob, cancellationToken);
            }
            else
            {
                (bareMs, _) = await MeasureRawAsync(client, bareJob, cancellationToken);
                (handledMs, _) = await MeasureRawAsync(handled, handledJob, cancellationToken);
            }

            if (i < 0)
            {
                continue;
            }

            pipelineUs.Add((handledMs - bareMs) * 1000);
            ownUs.Add((sdkMs - handledMs) * 1000);
            sdk.Add(sdkMs);
            raw.Add(rawMs);
            ratios.Add(sdkMs / rawMs);
            requests.Add(calls);
            sdkBytes.Add(sdkAllocated);
            rawBytes.Add(rawAllocated);
            if (i < 5 || (i + 1) % 50 == 0)
            {
                progress.WriteLine($"submit pair {i + 1}/{runs}: sdk {sdkMs:0.00} ms {sdkAllocated} B ({calls} API call(s)), raw {rawMs:0.00} ms {rawAllocated} B");
            }
        }

        List<BenchmarkResult> results =
        [
            new("submit.cluster", cluster.OutOfProcess ? "child-process" : "in-process"),
            new("submit.paired_runs", runs.ToString(CultureInfo.InvariantCulture)),
            BenchmarkResult.Of("submit.requests_per_start", requests.Average()),
            BenchmarkResult.Of("submit.sdk_ms", Stats.Median(sdk), "0.000"),
            BenchmarkResult.Of("submit.raw_ms", Stats.Median(raw), "0.000"),
            BenchmarkResult.Of("submit.ratio", Stats.Median(ratios)),
            BenchmarkResult.Of("submit.ratio_of_medians", Stats.Median(sdk) / Stats.Median(raw)),
            BenchmarkResult.Of("submit.alloc_bytes_per_start", Stats.Median(sdkBytes) - Stats.Median(rawBytes), "0"),
            BenchmarkResult.Of("submit.alloc_bytes_per_start.sdk", Stats.Median(sdkBytes), "0"),
            BenchmarkResult.Of("submit.alloc_bytes_per_start.raw", Stats.Median(rawBytes), "0"),
            BenchmarkResult.Of("submit.parts.pipeline_us", Stats.Median(pipelineUs), "0.0"),
            BenchmarkResult.Of("submit.parts.start_beyond_pipeline_us", Stats.Median(ownUs), "0.0"),
        ];

        results.AddRange(Parts(specs, 2000));
        var concurrent = options.Concurrent ?? 1000;
        if (concurrent > 0)
        {
            results.AddRange(await ConcurrentAsync(executor, cluster, concurrent, progress, cancellationToken));
        }

        return results;
    }

    /// <summary>
    /// <paramref name="count"/> StartAsync calls at once, each a fresh job id, through one executor (one client and
    /// connection pool, as a backend's): how many throw, and how many job ids the API ends up with more than one Job for.
    /// </summary>
    private static async Task<IEnumerable<BenchmarkResult>> ConcurrentAsync(
        KubernetesTrainingExecutor executor, BenchCluster cluster, int count, TextWriter progress, CancellationToken cancellationToken)
    {
        var before = await cluster.SendAsync<JobCount>("jobs", cancellationToken);
        var jobs = Enumerable.Range(0, count).Select(i => NewJob($"submit-concurrent-{i}")).ToList();
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var clock = Stopwatch.StartNew();
        using var gate = new ManualResetEventSlim(false);
        var starts = jobs.Select(job => Task.Run(
            async () =>
            {
                gate.Wait(cancellationToken);
                try
                {
                    await executor.StartAsync(job, cancellationToken);
                }
                catch (TrainingException ex)
                {
                    errors.Enqueue($"{job.JobId}: {ex.Code}: {ex.Message}");
                }
            },
            cancellationToken)).ToList();
        gate.Set();
        await Task.WhenAll(starts);
        var seconds = clock.Elapsed.TotalSeconds;
        var after = await cluster.SendAsync<JobCount>("jobs", cancellationToken);
        foreach (var error in errors.Take(5))
        {
            progress.WriteLine($"submit: concurrent start failed: {error}");
        }

        progress.WriteLine($"submit: {count} concurrent starts in {seconds:0.00} s: {errors.Count} errors, {after.Total - before.Total} Jobs created");
        return
        [
            new("submit.concurrent", count.ToString(CultureInfo.InvariantCulture)),
            BenchmarkResult.Of("submit.concurrent_s", seconds),
            new("submit.concurrent_errors", errors.Count.ToString(CultureInfo.InvariantCulture)),
            new("submit.concurrent_jobs_created", (after.Total - before.Total).ToString(CultureInfo.InvariantCulture)),
            new("submit.concurrent_duplicates", (after.Total - after.Distinct).ToString(CultureInfo.InvariantCulture)),
        ];
    }

    /// <summary>
    /// Where a start's own time goes, without HTTP, warm (after the pairs), over <paramref name="count"/> fresh configs:
    /// the config hash (<see cref="TrainingJobConfig.ConfigHash"/>, the Job's config-hash annotation: core package) and
    /// building and validating the Job (<see cref="TrainingJobSpecBuilder.Build(TrainingJobConfig, KubernetesJobOptions)"/>,
    /// with the hash already computed), and <see cref="TrainingJobSpecBuilder.BuildConfigMap"/> (whether the config
    /// travels in a ConfigMap: the trainer invocation built again). The rest of sdk_ms − raw_ms is the SDK's client
    /// pipeline (retry handler).
    /// </summary>
    private static IEnumerable<BenchmarkResult> Parts(TrainingJobSpecBuilder specs, int count)
    {
        var configs = Enumerable.Range(0, count).Select(i => NewJob($"submit-parts-{i}")).ToList();
        var (hashUs, hashBytes) = Time(configs, c => c.ConfigHash);
        var (buildUs, buildBytes) = Time(configs, c => specs.Build(c));
        var built = configs.ToDictionary(c => c, c => specs.Build(c));
        var (mapUs, mapBytes) = Time(configs, c => specs.BuildConfigMap(c, built[c]) ?? (object)string.Empty);
        return
        [
            BenchmarkResult.Of("submit.parts.config_hash_us", hashUs, "0.0"),
            BenchmarkResult.Of("submit.parts.config_hash_bytes", hashBytes, "0"),
            BenchmarkResult.Of("submit.parts.build_us", buildUs, "0.0"),
            BenchmarkResult.Of("submit.parts.build_bytes", buildBytes, "0"),
            BenchmarkResult.Of("submit.parts.config_map_us", mapUs, "0.0"),
            BenchmarkResult.Of("submit.parts.config_map_bytes", mapBytes, "0"),
        ];

        static (double Us, double Bytes) Time(List<TrainingJobConfig> configs, Func<TrainingJobConfig, object> step)
        {
            object? last = null;
            var allocated = GC.GetTotalAllocatedBytes(precise: true);
            var clock = Stopwatch.StartNew();
            foreach (var config in configs)
            {
                last = step(config);
            }

            var us = clock.Elapsed.TotalMicroseconds / configs.Count;
            GC.KeepAlive(last);
            return (us, (GC.GetTotalAllocatedBytes(precise: true) - allocated) / (double)configs.Count);
        }
    }

    private static async Task<(double Ms, long Allocated, int Calls)> MeasureSdkAsync(KubernetesTrainingExecutor executor, BenchCluster cluster, TrainingJobConfig job, CancellationToken cancellationToken)
    {
        await cluster.SendAsync("requests-clear", cancellationToken);
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        await executor.StartAsync(job, cancellationToken);
        var ms = clock.Elapsed.TotalMilliseconds;
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        var calls = int.Parse(await cluster.SendAsync("requests", cancellationToken), CultureInfo.InvariantCulture);
        return (ms, allocated, calls);
    }

    private static async Task<(double Ms, long Allocated)> MeasureRawAsync(IKubernetes client, k8s.Models.V1Job job, CancellationToken cancellationToken)
    {
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        await client.BatchV1.CreateNamespacedJobAsync(job, Namespace, cancellationToken: cancellationToken);
        var ms = clock.Elapsed.TotalMilliseconds;
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        return (ms, allocated);
    }

    private static TrainingJobConfig NewJob(string jobId)
    {
        var builder = SampleJobs.YoloBuilder(jobId, epochs: 5);
        builder.Resources = new TrainingResources { Gpus = 1 };
        return builder.Build();
    }
}
