using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Benchmarks.Scenarios;

/// <summary>
/// When each run's state changed in the API: reads the test cluster's store in-process (no HTTP, so it adds nothing to
/// the request log) and keeps, per job id, the store's commit time of the first write that implies each phase:
/// the Job's creation (Pending), its first pod reported Running (Running), and the first Job status with a
/// SuccessCriteriaMet/Complete (Succeeded) or FailureTarget/Failed (Failed) condition — the writes from which the SDK's
/// status mapping derives those phases.
/// </summary>
internal sealed class MonitorChangeClock : IAsyncDisposable
{
    private readonly ConcurrentDictionary<(string JobId, TrainingPhase Phase), long> _first = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _jobs;
    private readonly Task _pods;

    public MonitorChangeClock(ClusterStore store, string ns)
    {
        var from = store.ResourceVersion;
        var jobs = store.Watch(ResourceType.Jobs, ns, from, _stop.Token);
        var pods = store.Watch(ResourceType.Pods, ns, from, _stop.Token);
        _jobs = Task.Run(() => ReadAsync(jobs, OnJob));
        _pods = Task.Run(() => ReadAsync(pods, OnPod));
    }

    /// <summary>Every first change recorded so far.</summary>
    public List<PhaseChange> Snapshot() => [.. _first.Select(c => new PhaseChange(c.Key.JobId, c.Key.Phase, c.Value))];

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_jobs, _pods);
        _stop.Dispose();
    }

    private static string? JobIdOf(JsonObject obj) =>
        obj["metadata"]?["annotations"]?[KubernetesLabels.JobIdAnnotation]?.GetValue<string>();

    private void OnJob(StoreEvent change)
    {
        if (JobIdOf(change.Object) is not { } jobId)
        {
            return;
        }

        if (change.Type == StoreEventType.Added)
        {
            Record(jobId, TrainingPhase.Pending, change.CommittedTimestamp);
        }

        foreach (var condition in (change.Object["status"]?["conditions"] as JsonArray ?? []).OfType<JsonObject>())
        {
            if (condition["status"]?.GetValue<string>() != "True")
            {
                continue;
            }

            switch (condition["type"]?.GetValue<string>())
            {
                case "Complete" or "SuccessCriteriaMet":
                    Record(jobId, TrainingPhase.Succeeded, change.CommittedTimestamp);
                    break;
                case "Failed" or "FailureTarget":
                    Record(jobId, TrainingPhase.Failed, change.CommittedTimestamp);
                    break;
            }
        }
    }

    private void OnPod(StoreEvent change)
    {
        if (change.Type != StoreEventType.Deleted && change.Object["status"]?["phase"]?.GetValue<string>() == "Running" && JobIdOf(change.Object) is { } jobId)
        {
            Record(jobId, TrainingPhase.Running, change.CommittedTimestamp);
        }
    }

    private void Record(string jobId, TrainingPhase phase, long committed)
    {
        if (committed != 0)
        {
            _first.TryAdd((jobId, phase), committed);
        }
    }

    private async Task ReadAsync(System.Threading.Channels.ChannelReader<StoreEvent> reader, Action<StoreEvent> handle)
    {
        try
        {
            await foreach (var change in reader.ReadAllAsync(_stop.Token))
            {
                handle(change);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // done
        }
    }
}

/// <summary>The first write that implied <paramref name="Phase"/> for a run, committed at <paramref name="Timestamp"/> (Stopwatch ticks).</summary>
internal sealed record PhaseChange(string JobId, TrainingPhase Phase, long Timestamp);

/// <summary>A <see cref="MonitorChangeClock"/>'s records, read by the scenario (possibly from another process).</summary>
internal sealed class MonitorChanges(IEnumerable<PhaseChange> changes)
{
    private readonly Dictionary<(string JobId, TrainingPhase Phase), long> _first = changes.ToDictionary(c => (c.JobId, c.Phase), c => c.Timestamp);

    public IEnumerable<PhaseChange> All => _first.Select(c => new PhaseChange(c.Key.JobId, c.Key.Phase, c.Value));

    /// <summary>The commit timestamp (Stopwatch ticks) of the first write that implies <paramref name="phase"/>.</summary>
    public bool TryGetChange(string jobId, TrainingPhase phase, out long timestamp) => _first.TryGetValue((jobId, phase), out timestamp);

    /// <summary>From the Job's creation to its first terminal condition, for runs that finished.</summary>
    public bool TryGetLifetime(string jobId, out TimeSpan lifetime)
    {
        lifetime = TimeSpan.Zero;
        if (!_first.TryGetValue((jobId, TrainingPhase.Pending), out var created))
        {
            return false;
        }

        if (!_first.TryGetValue((jobId, TrainingPhase.Succeeded), out var finished) && !_first.TryGetValue((jobId, TrainingPhase.Failed), out finished))
        {
            return false;
        }

        lifetime = System.Diagnostics.Stopwatch.GetElapsedTime(created, finished);
        return true;
    }
}
