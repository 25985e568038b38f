using System.Diagnostics;
using k8s;
using Microsoft.Extensions.DependencyInjection;
using VisionPlatform.Training.Kubernetes;
using VisionPlatform.Training.Kubernetes.TestCluster;
using VisionPlatform.Training.Testing;

namespace VisionPlatform.Training.Benchmarks.Scenarios;

/// <summary>
/// Submitting a Job: <see cref="KubernetesTrainingExecutor.StartAsync(TrainingJobConfig, CancellationToken)"/> (spec
/// building, local validation, one create call) against a bare KubernetesClient create of the same, pre-built Job.
/// Both talk HTTP to the in-process test cluster (API server only, so no pods run and nothing else competes for the
/// CPU); API calls per start are counted from the cluster's request log. Bytes allocated per start are the process's
/// (<see cref="GC.GetTotalAllocatedBytes(bool)"/>) around each call, so they include the in-process API server's
/// share, which is the same on both sides: the difference is what the SDK adds.
/// </summary>
internal sealed class SubmitScenario : IBenchmarkScenario
{
    private const string Namespace = "training";

    public string Name => "submit";

    public string Description => "Kubernetes StartAsync vs a bare KubernetesClient create of the same Job (test cluster)";

    public async Task<IReadOnlyList<BenchmarkResult>> RunAsync(BenchmarkOptions options, TextWriter progress, CancellationToken cancellationToken)
    {
        var runs = options.Runs ?? 50;
        var clusterOptions = new KubernetesTestClusterOptions();
        clusterOptions.Components.Clear();
        clusterOptions.Namespaces.Add(Namespace);
        await using var cluster = await KubernetesTestCluster.StartAsync(clusterOptions, cancellationToken);

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
        using var client = cluster.CreateClient();

        var sdk = new List<double>();
        var raw = new List<double>();
        var ratios = new List<double>();
        var requests = new List<double>();
        var sdkBytes = new List<double>();
        var rawBytes = new List<double>();
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

            if (i < 0)
            {
                continue;
            }

            sdk.Add(sdkMs);
            raw.Add(rawMs);
            ratios.Add(sdkMs / rawMs);
            requests.Add(calls);
            sdkBytes.Add(sdkAllocated);
            rawBytes.Add(rawAllocated);
            progress.WriteLine($"submit pair {i + 1}/{runs}: sdk {sdkMs:0.00} ms {sdkAllocated} B ({calls} API call(s)), raw {rawMs:0.00} ms {rawAllocated} B");
        }

        return
        [
            new("submit.paired_runs", runs.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            BenchmarkResult.Of("submit.requests_per_start", requests.Average()),
            BenchmarkResult.Of("submit.sdk_ms", Stats.Median(sdk)),
            BenchmarkResult.Of("submit.raw_ms", Stats.Median(raw)),
            BenchmarkResult.Of("submit.ratio", Stats.Median(ratios)),
            BenchmarkResult.Of("submit.ratio_of_medians", Stats.Median(sdk) / Stats.Median(raw)),
            BenchmarkResult.Of("submit.alloc_bytes_per_start", Stats.Median(sdkBytes) - Stats.Median(rawBytes), "0"),
            BenchmarkResult.Of("submit.alloc_bytes_per_start.sdk", Stats.Median(sdkBytes), "0"),
            BenchmarkResult.Of("submit.alloc_bytes_per_start.raw", Stats.Median(rawBytes), "0"),
        ];
    }

    private static async Task<(double Ms, long Allocated, int Calls)> MeasureSdkAsync(KubernetesTrainingExecutor executor, KubernetesTestCluster cluster, TrainingJobConfig job, CancellationToken cancellationToken)
    {
        cluster.Requests.Clear();
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        await executor.StartAsync(job, cancellationToken);
        var ms = clock.Elapsed.TotalMilliseconds;
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        return (ms, allocated, cluster.Requests.Count);
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
