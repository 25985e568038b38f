using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Benchmarks.Scenarios;

/// <summary>
/// When Kueue let each queued run go, read from the test cluster's store in-process (no HTTP): the commit time of the
/// first write that set its Workload's <c>Admitted=True</c> condition, and of the first write of its Job with
/// <c>spec.suspend: false</c> (the Job is created suspended; this is the simulation's unsuspend after admission, the
/// moment the Job controller may create its pod). Store commit times are <see cref="System.Diagnostics.Stopwatch"/>
/// ticks, comparable across processes on one machine (CLOCK_MONOTONIC), unlike the condition's lastTransitionTime
/// (whole seconds in RFC 3339).
/// </summary>
internal sealed class QueueAdmissionClock : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, string> _jobIdByName = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _unsuspended = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _admittedByJobName = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _jobs;
    private readonly Task _workloads;

    public QueueAdmissionClock(ClusterStore store, string ns)
    {
        var from = store.ResourceVersion;
        var jobs = store.Watch(ResourceType.Jobs, ns, from, _stop.Token);
        var workloads = store.Watch(ResourceType.Workloads, ns, from, _stop.Token);
        _jobs = Task.Run(() => ReadAsync(jobs, OnJob));
        _workloads = Task.Run(() => ReadAsync(workloads, OnWorkload));
    }

    /// <summary>Per job id: the Workload's admission and the Job's unsuspend commit times (0 when not seen).</summary>
    public List<QueueAdmission> Snapshot() =>
    [
        .. _jobIdByName.Select(j => new QueueAdmission(
            j.Value,
            _admittedByJobName.TryGetValue(j.Key, out var admitted) ? admitted : 0,
            _unsuspended.TryGetValue(j.Value, out var unsuspended) ? unsuspended : 0)),
    ];

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_jobs, _workloads);
        _stop.Dispose();
    }

    private void OnJob(StoreEvent change)
    {
        if (change.Object["metadata"]?["annotations"]?[KubernetesLabels.JobIdAnnotation]?.GetValue<string>() is not { } jobId
            || change.Object["metadata"]?["name"]?.GetValue<string>() is not { } name)
        {
            return;
        }

        _jobIdByName.TryAdd(name, jobId);
        if (change.Type != StoreEventType.Deleted && change.CommittedTimestamp != 0
            && change.Object["spec"]?["suspend"]?.GetValue<bool>() == false)
        {
            _unsuspended.TryAdd(jobId, change.CommittedTimestamp);
        }
    }

    private void OnWorkload(StoreEvent change)
    {
        if (change.Type == StoreEventType.Deleted || change.CommittedTimestamp == 0)
        {
            return;
        }

        var admitted = (change.Object["status"]?["conditions"] as JsonArray ?? []).OfType<JsonObject>()
            .Any(c => c["type"]?.GetValue<string>() == "Admitted" && c["status"]?.GetValue<string>() == "True");
        var owner = (change.Object["metadata"]?["ownerReferences"] as JsonArray ?? []).OfType<JsonObject>()
            .FirstOrDefault(o => o["kind"]?.GetValue<string>() == "Job")?["name"]?.GetValue<string>();
        if (admitted && owner is not null)
        {
            _admittedByJobName.TryAdd(owner, change.CommittedTimestamp);
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

/// <summary>A queued run's Workload admission and Job unsuspend commit times (Stopwatch ticks; 0 when not seen).</summary>
internal sealed record QueueAdmission(string JobId, long Admitted, long Unsuspended);
