using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using VisionPlatform.Training.Benchmarks.Children;
using VisionPlatform.Training.Benchmarks.Http;
using VisionPlatform.Training.Kubernetes;

namespace VisionPlatform.Training.Benchmarks.Scenarios;

/// <summary>
/// Kueue at scale: 500 runs started at once through the SDK host with a queue configured
/// (<c>AddKubernetes(o =&gt; o.Kueue.QueueName = ...)</c>, its hosted services running: the run monitor with its fourth
/// watch, on Workloads) into one LocalQueue whose ClusterQueue's nominal quota fits exactly 10 runs' requests, on the test
/// cluster (child process by default) with the Job controller, scheduler, node agent and Kueue controller; each run is the
/// simulated trainer for 1-2 s. An all-runs subscriber of the event hub and one <see cref="ITrainingExecutor.WatchAsync"/>
/// per run observe them. Reports API calls per run beyond its create (the cluster's request log), the time from the
/// Job's unsuspend (Kueue's admission) to the Running event, and how many distinct queue positions a run's watcher saw.
/// </summary>
internal sealed partial class QueueScenario : IBenchmarkScenario
{
    private const string Namespace = ClusterControl.Namespace;
    private const string Group = "kueue.x-k8s.io";
    private const string Version = "v1beta1";
    private const string LocalQueue = "bench-queue";
    private const string ClusterQueue = "bench-cluster-queue";
    private const string Flavor = "bench-flavor";

    /// <summary>How many runs the ClusterQueue's nominal quota admits at a time.</summary>
    private const int AdmittedAtOnce = 10;

    /// <summary>Concurrent StartAsync calls while submitting (a backend's submit burst, not 500 sockets at once).</summary>
    private const int StartConcurrency = 8;
    private static readonly TimeSpan MinRunTime = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRunTime = TimeSpan.FromSeconds(2);
    private const int Seed = 20261207;

    public string Name => "queue";

    public string Description => "500 Kubernetes runs into one Kueue LocalQueue admitting 10 at a time: API calls per run, admission-to-Running event p99, queue positions seen";

    public async Task<IReadOnlyList<BenchmarkResult>> RunAsync(BenchmarkOptions options, TextWriter progress, CancellationToken cancellationToken)
    {
        var runs = options.Runs ?? 500;
        await using var cluster = await BenchCluster.StartAsync(ClusterProfile.Queue, !options.InProcessCluster, Math.Max(10_000, runs * 40), cancellationToken);
        progress.WriteLine($"queue: test cluster in {cluster.Where} at {cluster.Url}");

        var tally = new HttpTally();
        using var host = MonitorScenario.BuildHost(cluster.Url, tally, o => o.Kueue.QueueName = LocalQueue);
        var events = host.Services.GetRequiredService<ITrainingEventSource>();
        var executor = host.Services.GetRequiredService<KubernetesTrainingExecutor>();
        var specs = host.Services.GetRequiredService<TrainingJobSpecBuilder>();

        var random = new Random(Seed);
        var plan = Enumerable.Range(0, runs).Select(i => MonitorScenario.NewJob(
            $"queue-{i:D4}",
            MinRunTime + TimeSpan.FromMilliseconds(random.NextDouble() * (MaxRunTime - MinRunTime).TotalMilliseconds),
            0)).ToList();

        // The quota: exactly AdmittedAtOnce pods' requests, from the Job the SDK builds (every run requests the same)
        var requests = PodRequests(specs.Build(plan[0]));
        await CreateQueuesAsync(cluster.Url, requests, cancellationToken);
        progress.WriteLine($"queue: ClusterQueue {ClusterQueue} with nominal quota {string.Join(", ", requests.Select(r => $"{r.Key}={Quota(r.Key, r.Value * AdmittedAtOnce)}"))} ({AdmittedAtOnce} runs' requests), LocalQueue {LocalQueue}");

        await cluster.SendAsync("admissions-start", cancellationToken);
        await cluster.SendAsync("clock-start", cancellationToken);
        var recorder = new QueueEventRecorder(runs);
        using var stopRecording = new CancellationTokenSource();
        var subscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var recording = Task.Run(() => recorder.RunAsync(events, subscribed, stopRecording.Token), CancellationToken.None);
        await subscribed.Task;

        // from here on every request the test cluster answers is the SDK's (the scenario reads the store without HTTP)
        await cluster.SendAsync("requests-clear", cancellationToken);
        var windowStart = Stopwatch.GetTimestamp();
        await host.StartAsync(cancellationToken);
        await WaitForWatchesAsync(tally, progress, cancellationToken);

        progress.WriteLine($"queue: {runs} runs started at once ({StartConcurrency} StartAsync calls at a time), each running {MinRunTime.TotalSeconds:0}-{MaxRunTime.TotalSeconds:0} s, {AdmittedAtOnce} admitted at a time; one WatchAsync per run");
        var watchers = new ConcurrentDictionary<string, RunWatcher>(StringComparer.Ordinal);
        var startErrors = new ConcurrentQueue<string>();
        using var gate = new SemaphoreSlim(StartConcurrency);
        var tasks = plan.Select(config => Task.Run(
            async () =>
            {
                TrainingRun run;
                await gate.WaitAsync(cancellationToken);
                try
                {
                    run = await executor.StartAsync(config, cancellationToken);
                }
                catch (TrainingException ex)
                {
                    startErrors.Enqueue($"{config.JobId}: {ex.Code}: {ex.Message}");
                    recorder.Forget();
                    return;
                }
                finally
                {
                    gate.Release();
                }

                var watcher = watchers.GetOrAdd(run.JobId, _ => new RunWatcher());
                await watcher.RunAsync(executor, run, cancellationToken);
            },
            cancellationToken)).ToList();

        var reporter = ReportProgressAsync(progress, recorder, watchers, tally, windowStart, stopRecording.Token);
        long windowEnd;
        try
        {
            windowEnd = await recorder.All.WaitAsync(TimeSpan.FromSeconds(60 + (runs * MaxRunTime.TotalSeconds * 2 / AdmittedAtOnce)), cancellationToken);
        }
        catch (TimeoutException)
        {
            windowEnd = Stopwatch.GetTimestamp();
            progress.WriteLine($"queue: gave up waiting: {recorder.Terminal} of {runs} runs observed finished");
        }

        // the per-run watchers end on their run's terminal status, read from the same monitor cache
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(30), cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
        var sdkRequests = int.Parse(await cluster.SendAsync("requests", cancellationToken), CultureInfo.InvariantCulture);
        var calls = tally.Describe();
        var visibilityCalls = tally.ByKind.TryGetValue("GET pendingworkloads", out var v) ? v : 0;
        var creates = tally.ByKind.TryGetValue(CountingHandler.CreateJob, out var c) ? c : 0;
        await stopRecording.CancelAsync();
        await recording;
        await reporter;
        await host.StopAsync(CancellationToken.None);
        var admissions = (await cluster.SendAsync<List<QueueAdmission>>("admissions", cancellationToken)).ToDictionary(a => a.JobId, StringComparer.Ordinal);
        var changes = new MonitorChanges(await cluster.SendAsync<List<PhaseChange>>("clock", cancellationToken));

        var window = Stopwatch.GetElapsedTime(windowStart, windowEnd);
        var admissionMs = new List<double>();
        var watchAdmissionMs = new List<double>();
        var runningEventMs = new List<double>();
        var admittedToUnsuspendedMs = new List<double>();
        foreach (var config in plan)
        {
            var jobId = config.JobId;
            admissions.TryGetValue(jobId, out var admission);
            if (admission is { Unsuspended: not 0 })
            {
                if (recorder.TryGetRunning(jobId, out var received))
                {
                    admissionMs.Add(Stopwatch.GetElapsedTime(admission.Unsuspended, received).TotalMilliseconds);
                }

                if (watchers.TryGetValue(jobId, out var watcher) && watcher.RunningAt is long seen)
                {
                    watchAdmissionMs.Add(Stopwatch.GetElapsedTime(admission.Unsuspended, seen).TotalMilliseconds);
                }

                if (admission.Admitted != 0)
                {
                    admittedToUnsuspendedMs.Add(Stopwatch.GetElapsedTime(admission.Admitted, admission.Unsuspended).TotalMilliseconds);
                }
            }

            if (changes.TryGetChange(jobId, TrainingPhase.Running, out var podRunning) && recorder.TryGetRunning(jobId, out var receipt))
            {
                runningEventMs.Add(Stopwatch.GetElapsedTime(podRunning, receipt).TotalMilliseconds);
            }
        }

        var succeeded = recorder.TerminalStatuses.Count(s => s.Phase == TrainingPhase.Succeeded);
        var notSucceeded = recorder.TerminalStatuses.Where(s => s.Phase != TrainingPhase.Succeeded).ToList();
        foreach (var status in notSucceeded.Take(5))
        {
            progress.WriteLine($"queue: {status.JobId} ended {status.Phase}/{status.Reason}: {status.Message}");
        }

        foreach (var error in startErrors.Take(5))
        {
            progress.WriteLine($"queue: start failed: {error}");
        }

        var watchErrors = watchers.Values.Where(w => w.Error is not null).ToList();
        foreach (var watcher in watchErrors.Take(5))
        {
            progress.WriteLine($"queue: a watcher failed: {watcher.Error}");
        }

        var started = runs - startErrors.Count;
        var missing = started - recorder.Terminal;
        var noRunning = plan.Count(p => admissions.ContainsKey(p.JobId) && !recorder.TryGetRunning(p.JobId, out _));
        var errors = startErrors.Count + notSucceeded.Count + Math.Max(0, missing) + watchErrors.Count + (recorder.Dropped > 0 ? 1 : 0);
        progress.WriteLine($"queue: SDK calls by kind: {calls}");
        progress.WriteLine($"queue: {succeeded}/{runs} succeeded in {window.TotalSeconds:0.0} s; {errors} errors ({startErrors.Count} starts, {notSucceeded.Count} not succeeded, {Math.Max(0, missing)} without a terminal event, {watchErrors.Count} watchers, {recorder.Dropped} events dropped); {noRunning} without a Running event");

        var positionsWatch = watchers.Values.Select(w => (double)w.Positions).ToList();
        var positionsHub = plan.Select(p => (double)recorder.PositionsOf(p.JobId)).ToList();
        List<BenchmarkResult> results =
        [
            new("queue.cluster", cluster.OutOfProcess ? "child-process" : "in-process"),
            new("queue.runs", runs.ToString(CultureInfo.InvariantCulture)),
            new("queue.admitted_at_once", AdmittedAtOnce.ToString(CultureInfo.InvariantCulture)),
            BenchmarkResult.Of("queue.window_s", window.TotalSeconds, "0.0"),
            BenchmarkResult.Of("queue.requests_per_run", (sdkRequests - started) / (double)runs, "0.000"),
            new("queue.requests", sdkRequests.ToString(CultureInfo.InvariantCulture)),
            new("queue.requests.creates", creates.ToString(CultureInfo.InvariantCulture)),
            new("queue.requests.visibility", visibilityCalls.ToString(CultureInfo.InvariantCulture)),
            BenchmarkResult.Of("queue.requests.visibility_per_s", visibilityCalls / window.TotalSeconds),
            BenchmarkResult.Of("queue.requests_per_run.without_visibility", (sdkRequests - started - visibilityCalls) / (double)runs, "0.000"),
            new("queue.requests.by_kind", calls),
            new("queue.admission_source", "job-unsuspend-commit"),
        ];
        results.AddRange(Latency("queue.admission", admissionMs));
        results.AddRange(Latency("queue.watch.admission", watchAdmissionMs));
        results.AddRange(Latency("queue.running_event", runningEventMs));
        results.AddRange(Latency("queue.unsuspend_after_admitted", admittedToUnsuspendedMs));
        results.AddRange(
        [
            BenchmarkResult.Of("queue.position_updates", positionsWatch.Count == 0 ? 0 : positionsWatch.Average()),
            BenchmarkResult.Of("queue.position_updates_max", positionsWatch.Count == 0 ? 0 : positionsWatch.Max(), "0"),
            BenchmarkResult.Of("queue.position_updates.event_stream", positionsHub.Average()),
            new("queue.queued_events", recorder.QueuedRuns.ToString(CultureInfo.InvariantCulture)),
            new("queue.completed", succeeded.ToString(CultureInfo.InvariantCulture)),
            new("queue.errors", errors.ToString(CultureInfo.InvariantCulture)),
        ]);
        return results;
    }

    private static IEnumerable<BenchmarkResult> Latency(string name, List<double> values) =>
        values.Count == 0
            ? [new($"{name}_p50_ms", "n/a"), new($"{name}_p99_ms", "n/a")]
            :
            [
                BenchmarkResult.Of($"{name}_p50_ms", Stats.Percentile(values, 50), "0.0"),
                BenchmarkResult.Of($"{name}_p99_ms", Stats.Percentile(values, 99), "0.0"),
                BenchmarkResult.Of($"{name}_max_ms", values.Max(), "0.0"),
            ];

    /// <summary>Bounded polling of the SDK's own calls until the monitor's Job, pod and Workload watches are open (it has listed them).</summary>
    private static async Task WaitForWatchesAsync(HttpTally tally, TextWriter progress, CancellationToken cancellationToken)
    {
        string[] watches = ["WATCH jobs", "WATCH pods", "WATCH workloads"];
        var clock = Stopwatch.StartNew();
        while (!watches.All(tally.ByKind.ContainsKey) && clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(50, cancellationToken);
        }

        progress.WriteLine($"queue: run monitor watching after {clock.Elapsed.TotalMilliseconds:0} ms ({tally.Describe()})");
    }

    private static async Task ReportProgressAsync(
        TextWriter progress, QueueEventRecorder recorder, ConcurrentDictionary<string, RunWatcher> watchers, HttpTally tally, long windowStart, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromSeconds(10), cancellationToken);
                progress.WriteLine($"queue: {Stopwatch.GetElapsedTime(windowStart).TotalSeconds:0} s: {watchers.Count} started, {recorder.QueuedRuns} seen Queued, {recorder.RunningRuns} seen Running, {recorder.Terminal} finished; {tally.Calls} SDK calls ({tally.ByKind.GetValueOrDefault("GET pendingworkloads")} visibility)");
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // done
        }
    }

    /// <summary>One pod's requests by resource (the containers' sum, or the largest init container's when larger; a limit without a request counts), as Kueue adds them up.</summary>
    private static Dictionary<string, decimal> PodRequests(V1Job job)
    {
        var pod = job.Spec.Template.Spec;
        var total = new Dictionary<string, decimal>(StringComparer.Ordinal);
        foreach (var container in pod.Containers)
        {
            foreach (var (name, value) in Requests(container))
            {
                total[name] = total.GetValueOrDefault(name) + value;
            }
        }

        foreach (var init in pod.InitContainers ?? [])
        {
            foreach (var (name, value) in Requests(init))
            {
                total[name] = Math.Max(total.GetValueOrDefault(name), value);
            }
        }

        return total;

        static IEnumerable<(string Name, decimal Value)> Requests(V1Container container)
        {
            var requests = container.Resources?.Requests ?? new Dictionary<string, k8s.Models.ResourceQuantity>();
            var limits = container.Resources?.Limits ?? new Dictionary<string, k8s.Models.ResourceQuantity>();
            return requests.Select(r => (r.Key, r.Value.ToDecimal()))
                .Concat(limits.Where(l => !requests.ContainsKey(l.Key)).Select(l => (l.Key, l.Value.ToDecimal())));
        }
    }

    private static string Quota(string resource, decimal value) =>
        resource == "cpu" || decimal.Truncate(value) != value
            ? ((long)(value * 1000)).ToString(CultureInfo.InvariantCulture) + "m"
            : ((long)value).ToString(CultureInfo.InvariantCulture);

    /// <summary>A ResourceFlavor, the ClusterQueue (every namespace; quota for exactly <see cref="AdmittedAtOnce"/> pods) and the LocalQueue, as an administrator creates them.</summary>
    private static async Task CreateQueuesAsync(Uri url, Dictionary<string, decimal> requests, CancellationToken cancellationToken)
    {
        using var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = url.ToString().TrimEnd('/') });
        var resources = requests.Keys.Order(StringComparer.Ordinal).ToList();
        await client.CustomObjects.CreateClusterCustomObjectAsync(
            new JsonObject { ["apiVersion"] = $"{Group}/{Version}", ["kind"] = "ResourceFlavor", ["metadata"] = new JsonObject { ["name"] = Flavor }, ["spec"] = new JsonObject() },
            Group,
            Version,
            "resourceflavors",
            cancellationToken: cancellationToken);
        await client.CustomObjects.CreateClusterCustomObjectAsync(
            new JsonObject
            {
                ["apiVersion"] = $"{Group}/{Version}",
                ["kind"] = "ClusterQueue",
                ["metadata"] = new JsonObject { ["name"] = ClusterQueue },
                ["spec"] = new JsonObject
                {
                    ["namespaceSelector"] = new JsonObject(),
                    ["resourceGroups"] = new JsonArray(new JsonObject
                    {
                        ["coveredResources"] = new JsonArray([.. resources.Select(r => (JsonNode)JsonValue.Create(r))]),
                        ["flavors"] = new JsonArray(new JsonObject
                        {
                            ["name"] = Flavor,
                            ["resources"] = new JsonArray([.. resources.Select(r => (JsonNode)new JsonObject { ["name"] = r, ["nominalQuota"] = Quota(r, requests[r] * AdmittedAtOnce) })]),
                        }),
                    }),
                },
            },
            Group,
            Version,
            "clusterqueues",
            cancellationToken: cancellationToken);
        await client.CustomObjects.CreateNamespacedCustomObjectAsync(
            new JsonObject { ["apiVersion"] = $"{Group}/{Version}", ["kind"] = "LocalQueue", ["metadata"] = new JsonObject { ["name"] = LocalQueue }, ["spec"] = new JsonObject { ["clusterQueue"] = ClusterQueue } },
            Group,
            Version,
            Namespace,
            "localqueues",
            cancellationToken: cancellationToken);
    }

    [GeneratedRegex(@"; position (\d+) in queue ", RegexOptions.CultureInvariant)]
    internal static partial Regex PositionPattern();

    /// <summary>The queue position in a Queued status's message, or null.</summary>
    internal static int? PositionOf(TrainingRunStatus status) =>
        status.Reason == TrainingStatusReasons.Queued && status.Message is { } message && PositionPattern().Match(message) is { Success: true } match
            ? int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture)
            : null;

    /// <summary>One run's <see cref="ITrainingExecutor.WatchAsync"/> (a status per change of phase, reason or message): the distinct positions it saw and when it first saw Running.</summary>
    private sealed class RunWatcher
    {
        private readonly HashSet<int> _positions = [];

        public int Positions
        {
            get
            {
                lock (_positions)
                {
                    return _positions.Count;
                }
            }
        }

        public long? RunningAt { get; private set; }

        public string? Error { get; private set; }

        public async Task RunAsync(KubernetesTrainingExecutor executor, TrainingRun run, CancellationToken cancellationToken)
        {
            try
            {
                await foreach (var status in executor.WatchAsync(run, cancellationToken))
                {
                    var now = Stopwatch.GetTimestamp();
                    if (PositionOf(status) is int position)
                    {
                        lock (_positions)
                        {
                            _positions.Add(position);
                        }
                    }

                    if (status.Phase == TrainingPhase.Running && RunningAt is null)
                    {
                        RunningAt = now;
                    }
                }
            }
            catch (Exception ex) when (ex is TrainingException or HttpRequestException)
            {
                Error = $"{run.JobId}: {ex.Message}";
            }
        }
    }
}
