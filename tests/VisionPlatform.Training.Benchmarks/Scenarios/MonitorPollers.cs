using System.Collections.Concurrent;
using System.Diagnostics;
using k8s;
using k8s.Models;
using VisionPlatform.Training.Benchmarks.Http;
using VisionPlatform.Training.Kubernetes;

namespace VisionPlatform.Training.Benchmarks.Scenarios;

/// <summary>What one observer (the SDK, or a baseline poller) cost and saw.</summary>
/// <param name="Calls">HTTP calls (every attempt).</param>
/// <param name="Bytes">Response-body bytes received.</param>
/// <param name="ByKind">Calls by kind, e.g. <c>GET_jobs=19000</c>.</param>
/// <param name="Seen">When the observer first knew each run's phase (Stopwatch ticks).</param>
internal sealed record ObserverReport(long Calls, long Bytes, string ByKind, List<PhaseChange> Seen);

/// <summary>Both baselines' reports.</summary>
internal sealed record PollerReports(ObserverReport PerJob, ObserverReport List);

/// <summary>
/// The two ways a backend keeps run statuses current without the SDK's monitor, run for real with a plain
/// KubernetesClient against the same test cluster and the same runs: <b>per-job polling</b> (for every run it submitted,
/// read the Job and list its pods every <see cref="Interval"/>, as the executor's own <c>GetStatusAsync</c> does, from
/// submission until the run is seen finished) and <b>one namespace-wide list</b> of Jobs every <see cref="Interval"/>
/// (phases from the Job alone: present = Pending, <c>status.ready</c> &gt; 0 = Running, a Complete/SuccessCriteriaMet or
/// Failed/FailureTarget condition = terminal). Each has its own client, so calls and bytes are its own. Runs in a child
/// process (<c>__poll</c>) so that neither its CPU-time nor its allocations are charged to the SDK's process.
/// </summary>
internal sealed class MonitorPollers : IAsyncDisposable
{
    private readonly TimeSpan _interval;
    private readonly string _namespace;
    private readonly HttpTally _perJobTally = new();
    private readonly HttpTally _listTally = new();
    private readonly k8s.Kubernetes _perJobClient;
    private readonly k8s.Kubernetes _listClient;
    private readonly ConcurrentDictionary<(string JobId, TrainingPhase Phase), long> _perJobSeen = new();
    private readonly ConcurrentDictionary<(string JobId, TrainingPhase Phase), long> _listSeen = new();
    private readonly ConcurrentBag<Task> _loops = [];
    private readonly CancellationTokenSource _stop = new();
    private Task? _listLoop;

    public MonitorPollers(Uri url, string ns, TimeSpan interval)
    {
        _interval = interval;
        _namespace = ns;
        var config = new KubernetesClientConfiguration { Host = url.ToString().TrimEnd('/') };
        _perJobClient = new k8s.Kubernetes(config, new CountingHandler(_perJobTally));
        _listClient = new k8s.Kubernetes(config, new CountingHandler(_listTally));
    }

    public TimeSpan Interval => _interval;

    /// <summary>Starts the namespace-wide list poll (first list at once, then every interval).</summary>
    public void Start() => _listLoop = Task.Run(() => ListLoopAsync(_stop.Token));

    /// <summary>A run was submitted (its create answered): poll it from now on.</summary>
    public void Track(string jobId, string jobName)
    {
        // the create's answer already told the backend the run is Pending
        _perJobSeen.TryAdd((jobId, TrainingPhase.Pending), Stopwatch.GetTimestamp());
        _loops.Add(Task.Run(() => PerJobLoopAsync(jobId, jobName, _stop.Token)));
    }

    public async Task<PollerReports> StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_loops.Append(_listLoop ?? Task.CompletedTask)).ConfigureAwait(false);
        return new PollerReports(Report(_perJobTally, _perJobSeen), Report(_listTally, _listSeen));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync().ConfigureAwait(false);
        }

        _perJobClient.Dispose();
        _listClient.Dispose();
        _stop.Dispose();
    }

    private static ObserverReport Report(HttpTally tally, ConcurrentDictionary<(string JobId, TrainingPhase Phase), long> seen) =>
        new(tally.Calls, tally.Bytes, tally.Describe(), [.. seen.Select(s => new PhaseChange(s.Key.JobId, s.Key.Phase, s.Value))]);

    private static TrainingPhase? TerminalOf(V1Job job)
    {
        foreach (var condition in job.Status?.Conditions ?? [])
        {
            if (condition.Status != "True")
            {
                continue;
            }

            switch (condition.Type)
            {
                case "Complete" or "SuccessCriteriaMet":
                    return TrainingPhase.Succeeded;
                case "Failed" or "FailureTarget":
                    return TrainingPhase.Failed;
            }
        }

        return null;
    }

    private async Task PerJobLoopAsync(string jobId, string jobName, CancellationToken cancellationToken)
    {
        var next = Stopwatch.GetTimestamp();
        try
        {
            while (true)
            {
                next += (long)(_interval.TotalSeconds * Stopwatch.Frequency);
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
                }

                try
                {
                    var job = await _perJobClient.BatchV1.ReadNamespacedJobAsync(jobName, _namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
                    var pods = await _perJobClient.CoreV1.ListNamespacedPodAsync(_namespace, labelSelector: $"job-name={jobName}", cancellationToken: cancellationToken).ConfigureAwait(false);
                    var now = Stopwatch.GetTimestamp();
                    if (pods.Items.Any(p => p.Status?.Phase == "Running"))
                    {
                        _perJobSeen.TryAdd((jobId, TrainingPhase.Running), now);
                    }

                    if (TerminalOf(job) is { } terminal)
                    {
                        _perJobSeen.TryAdd((jobId, terminal), now);
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                    // a failed poll is retried at the next tick, as a poller would
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // stopped
        }
    }

    private async Task ListLoopAsync(CancellationToken cancellationToken)
    {
        var next = Stopwatch.GetTimestamp();
        try
        {
            while (true)
            {
                try
                {
                    var jobs = await _listClient.BatchV1.ListNamespacedJobAsync(_namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
                    var now = Stopwatch.GetTimestamp();
                    foreach (var job in jobs.Items)
                    {
                        if (job.Metadata?.Annotations?.TryGetValue(KubernetesLabels.JobIdAnnotation, out var jobId) != true || jobId is null)
                        {
                            continue;
                        }

                        _listSeen.TryAdd((jobId, TrainingPhase.Pending), now);
                        if (job.Status?.Ready > 0)
                        {
                            _listSeen.TryAdd((jobId, TrainingPhase.Running), now);
                        }

                        if (TerminalOf(job) is { } terminal)
                        {
                            _listSeen.TryAdd((jobId, terminal), now);
                        }
                    }
                }
                catch (HttpRequestException)
                {
                    // retried at the next tick
                }

                next += (long)(_interval.TotalSeconds * Stopwatch.Frequency);
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // stopped
        }
    }
}
