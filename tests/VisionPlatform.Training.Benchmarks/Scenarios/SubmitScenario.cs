using System.Diagnostics;
using k8s;
using Microsoft.Extensions.DependencyInjection;
using VisionPlatform.Training.Kubernetes;
using VisionPlatform.Training.Kubernetes.TestCluster;

namespace VisionPlatform.Training.Benchmarks.Scenarios;

/// <summary>
/// Submitting a Job: <see cref="KubernetesTrainingExecutor.StartAsync(TrainingJobConfig, CancellationToken)"/> (spec
/// building, local validation, one create call) against a bare KubernetesClient create of the same, pre-built Job.
/// Both talk HTTP to the in-process test cluster (API server only, so no pods run and nothing else competes for the
/// CPU); API calls per start are counted from the cluster's request log.
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
            .AddTrainingExecutors(o => o.DefaultExecutor = TrainingExecutorNames.Kubernetes)
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
        for (var i = -options.Warmup; i < runs; i++)
        {
            var sdkJob = NewJob($"submit-sdk-{i + options.Warmup}");
            var rawJob = specs.Build(NewJob($"submit-raw-{i + options.Warmup}"));
            double sdkMs, rawMs;
            int calls;
            if (i % 2 == 0)
            {
                (sdkMs, calls) = await MeasureSdkAsync(executor, cluster, sdkJob, cancellationToken);
                rawMs = await MeasureRawAsync(client, rawJob, cancellationToken);
            }
            else
            {
                rawMs = await MeasureRawAsync(client, rawJob, cancellationToken);
                (sdkMs, calls) = await MeasureSdkAsync(executor, cluster, sdkJob, cancellationToken);
            }

            if (i < 0)
            {
                continue;
            }

            sdk.Add(sdkMs);
            raw.Add(rawMs);
            ratios.Add(sdkMs / rawMs);
            requests.Add(calls);
            progress.WriteLine($"submit pair {i + 1}/{runs}: sdk {sdkMs:0.00} ms ({calls} API call(s)), raw {rawMs:0.00} ms");
        }

        return
        [
            new("submit.paired_runs", runs.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            BenchmarkResult.Of("submit.requests_per_start", requests.Average()),
            BenchmarkResult.Of("submit.sdk_ms", Stats.Median(sdk)),
            BenchmarkResult.Of("submit.raw_ms", Stats.Median(raw)),
            BenchmarkResult.Of("submit.ratio", Stats.Median(ratios)),
            BenchmarkResult.Of("submit.ratio_of_medians", Stats.Median(sdk) / Stats.Median(raw)),
        ];
    }

    private static async Task<(double Ms, int Calls)> MeasureSdkAsync(KubernetesTrainingExecutor executor, KubernetesTestCluster cluster, TrainingJobConfig job, CancellationToken cancellationToken)
    {
        cluster.Requests.Clear();
        var clock = Stopwatch.StartNew();
        await executor.StartAsync(job, cancellationToken);
        var ms = clock.Elapsed.TotalMilliseconds;
        return (ms, cluster.Requests.Count);
    }

    private static async Task<double> MeasureRawAsync(IKubernetes client, k8s.Models.V1Job job, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        await client.BatchV1.CreateNamespacedJobAsync(job, Namespace, cancellationToken: cancellationToken);
        return clock.Elapsed.TotalMilliseconds;
    }

    private static TrainingJobConfig NewJob(string jobId) => new TrainingJobConfigBuilder
    {
        JobId = jobId,
        Framework = TrainingFramework.Ultralytics,
        TaskType = "object_detection",
        ModelName = "yolo11n",
        DatasetPath = "datasets/coco8",
        DatasetFormat = "yolo",
        Epochs = 5,
        Resources = new TrainingResources { Gpus = 1 },
    }.Build();
}
