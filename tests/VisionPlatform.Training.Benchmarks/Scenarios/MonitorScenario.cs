using System.Diagnostics;
using System.Globalization;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using VisionPlatform.Training.Kubernetes;
using VisionPlatform.Training.Kubernetes.TestCluster;
using VisionPlatform.Training.Kubernetes.TestCluster.Api;
using VisionPlatform.Training.Kubernetes.TestCluster.Scheduling;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;
using VisionPlatform.Training.Testing;

namespace VisionPlatform.Training.Benchmarks.Scenarios;

/// <summary>
/// Live status at scale: 1,000 Kubernetes runs started through the SDK host (AddTrainingExecutors().AddKubernetes()
/// with its hosted services running) against the in-process test cluster, whose Job controller, scheduler and node
/// agent drive them to the end with a simulated trainer image (no processes: each pod runs 30-60 s, about 1 in 10
/// exits 2 and fails its Job). A backend-style all-runs subscriber and one <c>TrainingOperation.WaitForCompletionAsync</c> per run
/// observe them. Reports the API calls the SDK made to keep every status current against what 5 s polling per job would
/// have made, the latency from the store write to the subscriber, and then the memory of 10,000 tracked runs.
/// </summary>
internal sealed class MonitorScenario : IBenchmarkScenario
{
    public const string Namespace = "training";
    public const string RunMillisecondsVariable = "VP_SIM_RUN_MS";
    public const string ExitCodeVariable = "VP_SIM_EXIT_CODE";

    /// <summary>Starts are spread evenly over this window (a backend does not submit 1,000 jobs in one burst).</summary>
    private static readonly TimeSpan StartWindow = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan MinRunTime = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MaxRunTime = TimeSpan.FromSeconds(60);
    private const double FailureShare = 0.1;
    private const int Seed = 20261128;
    private const int NodeCount = 4;
    private const int PodsPerNode = 300;
    private static readonly TimeSpan ReconcileInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>The trainer image: each container runs for VP_SIM_RUN_MS and exits with VP_SIM_EXIT_CODE, without a process.</summary>
    private static readonly ImageMapping SimulatedTrainer = ImageMapping.Simulated(start => new SimulatedRun(
        TimeSpan.FromMilliseconds(int.Parse(start.Environment[RunMillisecondsVariable], CultureInfo.InvariantCulture)),
        int.Parse(start.Environment[ExitCodeVariable], CultureInfo.InvariantCulture))
    {
        Output = ["simulated trainer started"],
    });

    public string Name => "monitor";

    public string Description => "1,000 Kubernetes runs to completion: API calls vs 5 s polling, event latency, memory of 10,000 tracked runs";

    public async Task<IReadOnlyList<BenchmarkResult>> RunAsync(BenchmarkOptions options, TextWriter progress, CancellationToken cancellationToken)
    {
        var results = new List<BenchmarkResult>();
        if (!options.MemoryOnly)
        {
            results.AddRange(await RunJobsAsync(options.Runs ?? 1000, options.WaitEach, progress, cancellationToken));
        }

        results.AddRange(await MeasureTrackedMemoryAsync(options.Tracked ?? 10_000, progress, cancellationToken));
        return results;
    }

    /// <summary>A small valid job that the simulated image runs for <paramref name="runTime"/> and ends with <paramref name="exitCode"/>.</summary>
    public static TrainingJobConfig NewJob(string jobId, TimeSpan runTime, int exitCode)
    {
        var builder = SampleJobs.YoloBuilder(jobId, epochs: 5);
        builder.Resources = new TrainingResources { CpuRequest = "10m", CpuLimit = "100m", MemoryRequest = "16Mi", MemoryLimit = "64Mi" };
        builder.Environment[RunMillisecondsVariable] = ((long)runTime.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        builder.Environment[ExitCodeVariable] = exitCode.ToString(CultureInfo.InvariantCulture);
        return builder.Build();
    }

    private static async Task<IReadOnlyList<BenchmarkResult>> RunJobsAsync(int jobs, bool waitEach, TextWriter progress, CancellationToken cancellationToken)
    {
        var clusterOptions = new KubernetesTestClusterOptions();
        clusterOptions.Namespaces.Add(Namespace);
        clusterOptions.Workloads.Nodes.Clear();
        for (var i = 1; i <= NodeCount; i++)
        {
            var node = new SimulatedNode($"node-{i}", cpu: "64", memory: "256Gi");
            node.Allocatable["pods"] = PodsPerNode.ToString(CultureInfo.InvariantCulture);
            clusterOptions.Workloads.Nodes.Add(node);
        }

        clusterOptions.Workloads.ImageResolver = _ => SimulatedTrainer;

        // nothing is deleted here, so the garbage collector and the TTL controller would only add passes over 2,000
        // objects; the others batch changes into at most two passes a second (see WorkloadOptions.MinReconcileInterval)
        clusterOptions.Components.Clear();
        clusterOptions.Components.Add(() => new Kubernetes.TestCluster.Controllers.JobController());
        clusterOptions.Components.Add(() => new Scheduler());
        clusterOptions.Components.Add(() => new Kubernetes.TestCluster.Nodes.NodeAgent());
        clusterOptions.Workloads.MinReconcileInterval = ReconcileInterval;
        await using var cluster = await KubernetesTestCluster.StartAsync(clusterOptions, cancellationToken);
        await CreateReferencedObjectsAsync(cluster, cancellationToken);

        using var host = BuildHost(cluster);
        var events = host.Services.GetRequiredService<ITrainingEventSource>();
        // the Kubernetes executor itself, as the submit scenario: routing (availability probe, fallback) is not what is measured
        var executor = host.Services.GetRequiredService<KubernetesTrainingExecutor>();
        var client = host.Services.GetRequiredService<TrainingClient>();

        var random = new Random(Seed);
        var plan = Enumerable.Range(0, jobs).Select(i => (
            Config: NewJob(
                $"mon-{i:D4}",
                MinRunTime + TimeSpan.FromMilliseconds(random.NextDouble() * (MaxRunTime - MinRunTime).TotalMilliseconds),
                random.NextDouble() < FailureShare ? 2 : 0),
            Offset: StartWindow * i / jobs)).ToList();

        await using var clock = new MonitorChangeClock(cluster.Store, Namespace);
        var completion = new MonitorCompletion(jobs);
        var recorder = new MonitorEventRecorder(completion.Observe);
        using var stopRecording = new CancellationTokenSource();
        var subscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var recording = Task.Run(() => recorder.RunAsync(events, subscribed, stopRecording.Token), CancellationToken.None);
        await subscribed.Task;

        progress.WriteLine($"monitor: {jobs} runs, starts spread over {StartWindow.TotalSeconds:0} s, each running {MinRunTime.TotalSeconds:0}-{MaxRunTime.TotalSeconds:0} s, {FailureShare:P0} exiting 2");
        cluster.Requests.Clear();
        var windowStart = Stopwatch.GetTimestamp();
        await host.StartAsync(cancellationToken);

        var finals = new System.Collections.Concurrent.ConcurrentDictionary<string, TrainingRunStatus>(StringComparer.Ordinal);
        var runs = new List<Task<bool>>(jobs);
        foreach (var (config, offset) in plan)
        {
            var wait = offset - Stopwatch.GetElapsedTime(windowStart);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, cancellationToken);
            }

            runs.Add(Task.Run(() => StartAsync(executor, client, cluster, config, waitEach, completion, finals, progress, cancellationToken), cancellationToken));
        }

        progress.WriteLine($"monitor: all {jobs} started after {Stopwatch.GetElapsedTime(windowStart).TotalSeconds:0.0} s");
        long windowEnd;
        var reporter = ReportProgressAsync(progress, completion, recorder, cluster, windowStart, stopRecording.Token);
        try
        {
            windowEnd = await completion.All.WaitAsync(MaxRunTime + StartWindow + TimeSpan.FromMinutes(4), cancellationToken);
        }
        catch (TimeoutException)
        {
            windowEnd = Stopwatch.GetTimestamp();
            progress.WriteLine($"monitor: gave up waiting: {completion.Observed} of {jobs} runs observed finished");
        }

        var windowEndWall = DateTimeOffset.UtcNow - Stopwatch.GetElapsedTime(windowEnd);
        var requests = cluster.Requests.Entries.Where(e => e.Timestamp <= windowEndWall).ToList();
        var window = Stopwatch.GetElapsedTime(windowStart, windowEnd);

        // let the all-runs subscriber catch up before calling a run's terminal event missing
        var grace = Stopwatch.StartNew();
        while (recorder.Terminal.Count < completion.Observed && grace.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(100, cancellationToken);
        }

        await Task.WhenAll(runs).WaitAsync(TimeSpan.FromSeconds(30), cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
        var startErrors = runs.Count(r => r.IsCompletedSuccessfully && !r.Result);
        await stopRecording.CancelAsync();
        await recording;
        await reporter;
        await host.StopAsync(CancellationToken.None);

        return Report(jobs, waitEach, plan.Select(p => p.Config.JobId).ToList(), requests, window, clock, recorder, startErrors, progress);
    }

    /// <summary>Starts one run (and waits for it when <paramref name="waitEach"/>); false when the start failed.</summary>
    private static async Task<bool> StartAsync(
        KubernetesTrainingExecutor executor,
        TrainingClient client,
        KubernetesTestCluster cluster,
        TrainingJobConfig config,
        bool waitEach,
        MonitorCompletion completion,
        System.Collections.Concurrent.ConcurrentDictionary<string, TrainingRunStatus> finals,
        TextWriter progress,
        CancellationToken cancellationToken)
    {
        TrainingRun run;
        try
        {
            run = await executor.StartAsync(config, cancellationToken);
        }
        catch (TrainingException ex)
        {
            // an unanswered create may still have reached the server: then the run exists and is waited for like the others
            var created = cluster.Store.List(
                Kubernetes.TestCluster.Store.ResourceType.Jobs,
                Namespace,
                j => j["metadata"]?["annotations"]?[KubernetesLabels.JobIdAnnotation]?.GetValue<string>() == config.JobId).Items.Count > 0;
            progress.WriteLine($"monitor: {config.JobId}: start failed{(created ? " (the Job was created anyway)" : string.Empty)}: {ex.Message}");
            if (!created)
            {
                completion.Forget();
            }

            return false;
        }

        if (waitEach)
        {
            try
            {
                var status = await client.GetOperation(run).WaitForCompletionAsync(TimeSpan.FromMinutes(8), cancellationToken);
                completion.Observe(run.JobId, Stopwatch.GetTimestamp());
                finals[run.JobId] = status;
            }
            catch (TimeoutException ex)
            {
                progress.WriteLine($"monitor: {config.JobId}: {ex.Message}");
            }
        }

        return true;
    }

    private static List<BenchmarkResult> Report(
        int jobs,
        bool waitEach,
        IReadOnlyList<string> jobIds,
        IReadOnlyList<RequestLogEntry> requests,
        TimeSpan window,
        MonitorChangeClock clock,
        MonitorEventRecorder recorder,
        int startErrors,
        TextWriter progress)
    {
        bool IsStart(RequestLogEntry e) => e.Verb == "create" && e.Resource == "jobs";
        var creates = requests.Count(IsStart);
        var monitoring = requests.Where(e => !IsStart(e)).ToList();
        var byKind = monitoring
            .GroupBy(e => $"{e.Verb} {e.Resource}".Trim())
            .OrderByDescending(g => g.Count())
            .Select(g => $"{g.Key}={g.Count()}")
            .ToList();

        var lifetimes = new List<TimeSpan>();
        foreach (var jobId in jobIds)
        {
            if (clock.TryGetLifetime(jobId, out var lifetime))
            {
                lifetimes.Add(lifetime);
            }
        }

        var polling = MonitorPollingBaseline.Requests(lifetimes, MonitorPollingBaseline.Interval, MonitorPollingBaseline.CallsPerPoll);

        var latencies = new List<double>();
        var terminalLatencies = new List<double>();
        foreach (var (jobId, phase, received) in recorder.Receipts())
        {
            if (clock.TryGetChange(jobId, phase, out var changed))
            {
                var ms = Stopwatch.GetElapsedTime(changed, received).TotalMilliseconds;
                latencies.Add(ms);
                if (phase is TrainingPhase.Succeeded or TrainingPhase.Failed)
                {
                    terminalLatencies.Add(ms);
                }
            }
        }

        // missing: the API shows the run finished but no terminal event reached the subscriber; unfinished: the
        // test cluster had not finished the run when the scenario stopped waiting (a slow cluster, not a monitor miss)
        var finishedInApi = jobIds.Where(id => clock.TryGetLifetime(id, out _)).ToList();
        var missing = finishedInApi.Count(id => !recorder.Terminal.ContainsKey(id));
        var unfinished = jobIds.Count - finishedInApi.Count;
        foreach (var example in recorder.DuplicateExamples)
        {
            progress.WriteLine($"monitor: duplicate: {example}");
        }

        progress.WriteLine($"monitor: window {window.TotalSeconds:0.0} s; API calls besides the {creates} creates: {string.Join(", ", byKind)}");
        progress.WriteLine($"monitor: {lifetimes.Count} lifetimes, mean {(lifetimes.Count > 0 ? lifetimes.Average(l => l.TotalSeconds) : 0):0.0} s");

        static string Ms(IReadOnlyList<double> values, double p) => values.Count == 0 ? "n/a" : Stats.Percentile(values, p).ToString("0.0", CultureInfo.InvariantCulture);
        var invariant = CultureInfo.InvariantCulture;
        return
        [
            new("monitor.jobs", jobs.ToString(invariant)),
            new("monitor.wait_each", waitEach ? "1" : "0"),
            new("monitor.succeeded", recorder.Terminal.Values.Count(s => s.Phase == TrainingPhase.Succeeded).ToString(invariant)),
            new("monitor.failed", recorder.Terminal.Values.Count(s => s.Phase == TrainingPhase.Failed).ToString(invariant)),
            new("monitor.start_errors", startErrors.ToString(invariant)),
            BenchmarkResult.Of("monitor.window_s", window.TotalSeconds, "0.0"),
            new("monitor.create_requests", creates.ToString(invariant)),
            new("monitor.requests", monitoring.Count.ToString(invariant)),
            new("monitor.requests_by_kind", byKind.Count == 0 ? "none" : string.Join(",", byKind).Replace(' ', '_')),
            new("monitor.polling_requests", polling.ToString(invariant)),
            BenchmarkResult.Of("monitor.ratio", monitoring.Count == 0 ? double.PositiveInfinity : (double)polling / monitoring.Count, "0.0"),
            new("monitor.event_p50_ms", Ms(latencies, 50)),
            new("monitor.event_p99_ms", Ms(latencies, 99)),
            new("monitor.event_terminal_p50_ms", Ms(terminalLatencies, 50)),
            new("monitor.event_terminal_p99_ms", Ms(terminalLatencies, 99)),
            new("monitor.event_max_ms", latencies.Count == 0 ? "n/a" : latencies.Max().ToString("0.0", invariant)),
            new("monitor.event_samples", latencies.Count.ToString(invariant)),
            new("monitor.events_delivered", recorder.Events.ToString(invariant)),
            new("monitor.duplicates", recorder.Duplicates.ToString(invariant)),
            new("monitor.dropped", recorder.Dropped.ToString(invariant)),
            new("monitor.missing", missing.ToString(invariant)),
            new("monitor.unfinished", unfinished.ToString(invariant)),
        ];
    }

    private static async Task<IReadOnlyList<BenchmarkResult>> MeasureTrackedMemoryAsync(int tracked, TextWriter progress, CancellationToken cancellationToken)
    {
        var clusterOptions = new KubernetesTestClusterOptions();
        clusterOptions.Components.Clear();
        clusterOptions.Namespaces.Add(Namespace);
        clusterOptions.WatchHistorySize = tracked * 3;
        await using var cluster = await KubernetesTestCluster.StartAsync(clusterOptions, cancellationToken);
        await CreateReferencedObjectsAsync(cluster, cancellationToken);

        var populate = Stopwatch.StartNew();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddTrainingExecutors(o => o.DefaultExecutor = KubernetesExecutorInfo.ExecutorName).AddKubernetes(o => o.Namespace = Namespace);
        await using (var specProvider = services.BuildServiceProvider())
        {
            MonitorTrackedRuns.Populate(cluster.Store, specProvider.GetRequiredService<TrainingJobSpecBuilder>(), Namespace, tracked, DateTimeOffset.UtcNow);
        }

        progress.WriteLine($"monitor: {tracked} running Jobs and pods put into the store in {populate.Elapsed.TotalSeconds:0.0} s");

        // The store keeps the Jobs as parsed JSON whose label maps are only built when first read: the test API server's
        // label selector would build them (some 9 MB for 10,000 Jobs) during the monitor's list and count it as the SDK's.
        // A real API server is another process, so they are built here, before the baseline.
        _ = cluster.Store.List(Kubernetes.TestCluster.Store.ResourceType.Jobs, Namespace, j => j["metadata"]?["labels"] is System.Text.Json.Nodes.JsonObject { Count: > 0 });

        using var host = BuildHost(cluster);
        var events = host.Services.GetRequiredService<ITrainingEventSource>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var allSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        var subscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var counting = Task.Run(async () =>
        {
            try
            {
                var subscription = new TrainingEventSubscription { IncludeCurrentState = false, IncludeProgress = false, BufferCapacity = 1 << 17 };
                var stream = events.SubscribeAsync(subscription, stop.Token).GetAsyncEnumerator(stop.Token);
                await using (stream)
                {
                    var next = stream.MoveNextAsync();
                    subscribed.TrySetResult();
                    while (await next)
                    {
                        if (stream.Current is TrainingPhaseChangedEvent e)
                        {
                            lock (seen)
                            {
                                if (seen.Add(e.JobId) && seen.Count >= tracked)
                                {
                                    allSeen.TrySetResult();
                                }
                            }
                        }

                        next = stream.MoveNextAsync();
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // done
            }
        }, CancellationToken.None);
        await subscribed.Task;

        Collect();
        var managedBefore = GC.GetTotalMemory(forceFullCollection: true);
        var workingSetBefore = MemorySampler.Current();
        cluster.Requests.Clear();
        var sync = Stopwatch.StartNew();
        await host.StartAsync(cancellationToken);

        // the monitor publishes every run it lists; without one nothing arrives, so stop waiting early
        var deadline = Task.Delay(TimeSpan.FromMinutes(5), cancellationToken);
        var quiet = Task.Delay(TimeSpan.FromMinutes(3), cancellationToken);
        while (!allSeen.Task.IsCompleted)
        {
            var done = await Task.WhenAny(allSeen.Task, deadline, Task.Delay(1000, cancellationToken));
            int count;
            lock (seen)
            {
                count = seen.Count;
            }

            if (done == deadline || (quiet.IsCompleted && count == 0))
            {
                break;
            }
        }

        var syncSeconds = sync.Elapsed.TotalSeconds;
        int trackedSeen;
        lock (seen)
        {
            trackedSeen = seen.Count;
        }

        Collect();
        var managedAfter = GC.GetTotalMemory(forceFullCollection: true);
        var workingSetAfter = MemorySampler.Current();
        var requests = cluster.Requests.Count;
        progress.WriteLine($"monitor: {trackedSeen} of {tracked} tracked runs published after {syncSeconds:0.0} s with {requests} API calls");

        await stop.CancelAsync();
        await counting;
        await host.StopAsync(CancellationToken.None);
        GC.KeepAlive(host);

        var label = tracked == 10_000 ? "10k" : tracked.ToString(CultureInfo.InvariantCulture);
        const double Mb = 1024 * 1024;
        return
        [
            new($"monitor.mem_tracked_runs", trackedSeen.ToString(CultureInfo.InvariantCulture)),
            BenchmarkResult.Of($"monitor.mem_mb_{label}", (managedAfter - managedBefore) / Mb, "0.0"),
            BenchmarkResult.Of($"monitor.ws_mb_{label}", (workingSetAfter - workingSetBefore) / Mb, "0.0"),
            BenchmarkResult.Of("monitor.mem_sync_s", syncSeconds, "0.0"),
            new("monitor.mem_sync_requests", requests.ToString(CultureInfo.InvariantCulture)),
        ];
    }

    private static void Collect()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    }

    private static IHost BuildHost(KubernetesTestCluster cluster)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddLogging();
        builder.Services
            .AddTrainingExecutors(o => o.DefaultExecutor = KubernetesExecutorInfo.ExecutorName)
            .AddKubernetes(o =>
            {
                o.Namespace = Namespace;
                o.Connection.Host = cluster.Url.ToString();
            });
        return builder.Build();
    }

    /// <summary>The Secret and ConfigMap the default Job spec references (the node agent waits for them otherwise).</summary>
    private static async Task CreateReferencedObjectsAsync(KubernetesTestCluster cluster, CancellationToken cancellationToken)
    {
        using var client = cluster.CreateClient();
        await client.CoreV1.CreateNamespacedSecretAsync(
            new V1Secret
            {
                Metadata = new V1ObjectMeta { Name = "r2-credentials" },
                StringData = new Dictionary<string, string> { ["endpoint"] = "http://127.0.0.1:9", ["access-key"] = "ak", ["secret-key"] = "sk" },
            },
            Namespace,
            cancellationToken: cancellationToken);
        await client.CoreV1.CreateNamespacedConfigMapAsync(
            new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "backend-config" }, Data = new Dictionary<string, string> { ["api-url"] = "http://127.0.0.1:9" } },
            Namespace,
            cancellationToken: cancellationToken);
    }

    private static async Task ReportProgressAsync(
        TextWriter progress, MonitorCompletion completion, MonitorEventRecorder recorder, KubernetesTestCluster cluster, long start, CancellationToken cancellationToken)
    {
        try
        {
            while (!completion.All.IsCompleted)
            {
                await Task.Delay(TimeSpan.FromSeconds(10), cancellationToken);
                progress.WriteLine(
                    $"monitor: {Stopwatch.GetElapsedTime(start).TotalSeconds:0} s: {completion.Observed} finished, {recorder.Events} phase events, {cluster.Requests.Count} API calls so far");
            }
        }
        catch (OperationCanceledException)
        {
            // done
        }
    }
}
