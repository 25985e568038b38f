using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using k8s;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using VisionPlatform.Training.Benchmarks.Children;
using VisionPlatform.Training.Benchmarks.Http;
using VisionPlatform.Training.Benchmarks.Runtime;
using VisionPlatform.Training.Kubernetes;
using VisionPlatform.Training.Testing;

namespace VisionPlatform.Training.Benchmarks.Scenarios;

/// <summary>
/// Live status at scale: 1,000 Kubernetes runs started through the SDK host (AddTrainingExecutors().AddKubernetes()
/// with its hosted services running) against the test cluster (in a child process by default), whose Job controller,
/// scheduler and node agent drive them to the end with a simulated trainer image (no processes: each pod runs 30-60 s,
/// about 1 in 10 exits 2 and fails its Job). A backend-style all-runs subscriber observes them, and in the same run the
/// two polling baselines (<see cref="MonitorPollers"/>, another child process) watch the same runs over real HTTP.
/// Reports calls, bytes and staleness of all three, the event latency with the runtime counters that explain its tail,
/// the same run beside one busy CPU core, and then the memory and restart sync time of 10,000 tracked runs.
/// </summary>
internal sealed class MonitorScenario : IBenchmarkScenario
{
    public const string Namespace = ClusterControl.Namespace;
    public const string RunMillisecondsVariable = ClusterControl.RunMillisecondsVariable;
    public const string ExitCodeVariable = ClusterControl.ExitCodeVariable;

    /// <summary>Both baselines poll this often (no time scaling: the real 5 s).</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(5);

    /// <summary>Starts are spread evenly over this window (a backend does not submit 1,000 jobs in one burst).</summary>
    private static readonly TimeSpan StartWindow = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan MinRunTime = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MaxRunTime = TimeSpan.FromSeconds(60);
    private const double FailureShare = 0.1;
    private const int Seed = 20261128;

    public string Name => "monitor";

    public string Description => "1,000 Kubernetes runs: event p99 quiet and beside a busy core with runtime counters; SDK vs per-job and list polling (calls, bytes, staleness); 10,000 tracked runs";

    public async Task<IReadOnlyList<BenchmarkResult>> RunAsync(BenchmarkOptions options, TextWriter progress, CancellationToken cancellationToken)
    {
        var results = new List<BenchmarkResult>
        {
            new("monitor.cluster", options.InProcessCluster ? "in-process" : "child-process"),
        };
        if (!options.MemoryOnly)
        {
            // Three runs of the same workload, each on a fresh cluster. The pollers are not in the latency runs: their
            // ~160 calls a second load the shared test cluster (each pod list scans every pod) and delayed its watch
            // events to the SDK by tens of milliseconds, which is the pollers' cost, not the SDK's.
            var jobs = options.Runs ?? 1000;
            var quiet = await RunJobsAsync(jobs, options, busy: false, baselines: false, progress, cancellationToken);
            results.AddRange(quiet.Where(r => !r.Name.StartsWith("monitor.staleness", StringComparison.Ordinal)));
            if (options.Busy)
            {
                var busy = await RunJobsAsync(jobs, options, busy: true, baselines: false, progress, cancellationToken);
                results.Add(new("monitor.event_p99_ms_busy", busy.Single(r => r.Name == "monitor.event_p99_ms").Value));
                results.AddRange(busy.Select(r => r with { Name = r.Name.Replace("monitor.", "monitor.busy.", StringComparison.Ordinal) }));
            }

            if (options.Baselines)
            {
                // calls, bytes and staleness of the SDK and both pollers, all watching the same runs at once
                var polled = await RunJobsAsync(jobs, options, busy: false, baselines: true, progress, cancellationToken);
                string[] compared = ["monitor.ratio", "monitor.per_job_poll", "monitor.list_poll", "monitor.staleness"];
                results.AddRange(polled.Where(r => compared.Any(c => r.Name.StartsWith(c, StringComparison.Ordinal))));
                results.AddRange(polled
                    .Where(r => !compared.Any(c => r.Name.StartsWith(c, StringComparison.Ordinal)))
                    .Select(r => r with { Name = r.Name.Replace("monitor.", "monitor.with_pollers.", StringComparison.Ordinal) }));
            }
        }

        results.AddRange(await MonitorMemory.MeasureAsync(options.Tracked ?? 10_000, !options.InProcessCluster, progress, cancellationToken));
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

    /// <summary>
    /// The SDK host the scenarios measure: the SDK's own client pipeline (the retry handler with the default
    /// <c>Connection:Resilience</c> options and request timeout), plus a <see cref="CountingHandler"/> below it.
    /// </summary>
    public static IHost BuildHost(Uri url, HttpTally tally, Action<KubernetesExecutorOptions>? configure = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddLogging();
        var connection = new KubernetesConnectionOptions();
        builder.Services
            .AddTrainingExecutors(o => o.DefaultExecutor = KubernetesExecutorInfo.ExecutorName)
            .AddKubernetes(
                _ => new k8s.Kubernetes(
                    new KubernetesClientConfiguration { Host = url.ToString().TrimEnd('/'), HttpClientTimeout = connection.RequestTimeout },
                    new KubernetesResilienceHandler(connection.Resilience),
                    new CountingHandler(tally)),
                o =>
                {
                    o.Namespace = Namespace;
                    configure?.Invoke(o);
                });
        return builder.Build();
    }

    private static async Task<List<BenchmarkResult>> RunJobsAsync(
        int jobs, BenchmarkOptions options, bool busy, bool baselines, TextWriter progress, CancellationToken cancellationToken)
    {
        var label = busy ? "monitor (busy)" : "monitor";
        await using var cluster = await BenchCluster.StartAsync(ClusterProfile.Workload, !options.InProcessCluster, 10_000, cancellationToken);
        progress.WriteLine($"{label}: test cluster in {cluster.Where} at {cluster.Url}");
        await using var spinner = busy ? (await ChildProcess.StartAsync("spin", ["__spin"], cancellationToken)).Child : null;
        await using var pollers = baselines
            ? (await ChildProcess.StartAsync(
                "poll",
                ["__poll", cluster.Url.ToString(), Namespace, ((int)PollInterval.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)],
                cancellationToken)).Child
            : null;

        var tally = new HttpTally();
        using var host = BuildHost(cluster.Url, tally);
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

        await cluster.SendAsync("clock-start", cancellationToken);
        var completion = new MonitorCompletion(jobs);
        var recorder = new MonitorEventRecorder(completion.Observe);
        using var stopRecording = new CancellationTokenSource();
        var subscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var recording = Task.Run(() => recorder.RunAsync(events, subscribed, stopRecording.Token), CancellationToken.None);
        await subscribed.Task;

        progress.WriteLine($"{label}: {jobs} runs, starts spread over {StartWindow.TotalSeconds:0} s, each running {MinRunTime.TotalSeconds:0}-{MaxRunTime.TotalSeconds:0} s, {FailureShare:P0} exiting 2{(busy ? ", one CPU core kept busy by a child process" : string.Empty)}{(baselines ? $", per-job and list polling every {PollInterval.TotalSeconds:0} s in a child process" : string.Empty)}");
        if (cluster.OutOfProcess)
        {
            await cluster.SendAsync("counters-start", cancellationToken);
        }

        var counters = new RuntimeCounterSampler();
        var windowStart = Stopwatch.GetTimestamp();
        await host.StartAsync(cancellationToken);
        if (pollers is not null)
        {
            await pollers.SendAsync("start", cancellationToken);
        }

        var runs = new List<Task<bool>>(jobs);
        foreach (var (config, offset) in plan)
        {
            var wait = offset - Stopwatch.GetElapsedTime(windowStart);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, cancellationToken);
            }

            runs.Add(Task.Run(() => StartAsync(executor, client, cluster, pollers, config, options.WaitEach, completion, progress, cancellationToken), cancellationToken));
        }

        progress.WriteLine($"{label}: all {jobs} started after {Stopwatch.GetElapsedTime(windowStart).TotalSeconds:0.0} s");
        long windowEnd;
        var reporter = ReportProgressAsync(label, progress, completion, recorder, tally, windowStart, stopRecording.Token);
        try
        {
            windowEnd = await completion.All.WaitAsync(MaxRunTime + StartWindow + TimeSpan.FromMinutes(4), cancellationToken);
        }
        catch (TimeoutException)
        {
            windowEnd = Stopwatch.GetTimestamp();
            progress.WriteLine($"{label}: gave up waiting: {completion.Observed} of {jobs} runs observed finished");
        }

        var sdk = new ObserverReport(tally.CallsExcept(CountingHandler.CreateJob), tally.BytesExcept(CountingHandler.CreateJob), tally.Describe(), []);
        var window = Stopwatch.GetElapsedTime(windowStart, windowEnd);

        // let the all-runs subscriber catch up before calling a run's terminal event missing
        var grace = Stopwatch.StartNew();
        while (recorder.Terminal.Count < completion.Observed && grace.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(100, cancellationToken);
        }

        counters.Dispose();
        var polled = pollers is null ? null : JsonSerializer.Deserialize<PollerReports>(await pollers.SendAsync("stop", cancellationToken));
        var clusterSamples = cluster.OutOfProcess ? await cluster.SendAsync<List<CounterSample>>("counters", cancellationToken) : null;
        var changes = new MonitorChanges(await cluster.SendAsync<List<PhaseChange>>("clock", cancellationToken));
        await Task.WhenAll(runs).WaitAsync(TimeSpan.FromSeconds(30), cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
        var startErrors = runs.Count(r => r.IsCompletedSuccessfully && !r.Result);
        await stopRecording.CancelAsync();
        await recording;
        await reporter;
        await host.StopAsync(CancellationToken.None);

        return MonitorReport.Build(new MonitorReport.Inputs(
            jobs,
            options.WaitEach,
            [.. plan.Select(p => p.Config.JobId)],
            window,
            windowStart,
            windowEnd,
            changes,
            recorder,
            startErrors,
            sdk,
            polled,
            new CounterSeries(counters.Samples),
            clusterSamples is null ? null : new CounterSeries(clusterSamples)), progress);
    }

    /// <summary>Starts one run (and waits for it when <paramref name="waitEach"/>); false when the start failed.</summary>
    private static async Task<bool> StartAsync(
        KubernetesTrainingExecutor executor,
        TrainingClient client,
        BenchCluster cluster,
        ChildProcess? pollers,
        TrainingJobConfig config,
        bool waitEach,
        MonitorCompletion completion,
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
            var created = await cluster.SendAsync($"has-job {config.JobId}", cancellationToken) == "1";
            progress.WriteLine($"monitor: {config.JobId}: start failed{(created ? " (the Job was created anyway)" : string.Empty)}: {ex.Message}");
            if (!created)
            {
                completion.Forget();
            }

            return false;
        }

        if (pollers is not null)
        {
            // the backend's poller learns of the run when its create is answered, as the SDK's caller does
            await pollers.PostAsync($"job {run.JobId} {run.ResourceId.Split('/')[1]}", cancellationToken);
        }

        if (waitEach)
        {
            try
            {
                await client.GetOperation(run).WaitForCompletionAsync(TimeSpan.FromMinutes(8), cancellationToken);
                completion.Observe(run.JobId, Stopwatch.GetTimestamp());
            }
            catch (TimeoutException ex)
            {
                progress.WriteLine($"monitor: {config.JobId}: {ex.Message}");
            }
        }

        return true;
    }

    private static async Task ReportProgressAsync(
        string label, TextWriter progress, MonitorCompletion completion, MonitorEventRecorder recorder, HttpTally tally, long start, CancellationToken cancellationToken)
    {
        try
        {
            while (!completion.All.IsCompleted)
            {
                await Task.Delay(TimeSpan.FromSeconds(10), cancellationToken);
                progress.WriteLine(
                    $"{label}: {Stopwatch.GetElapsedTime(start).TotalSeconds:0} s: {completion.Observed} finished, {recorder.Events} phase events, {tally.Calls} SDK API calls so far");
            }
        }
        catch (OperationCanceledException)
        {
            // done
        }
    }
}
