namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// The monitor's Kueue part (only with <c>Training:Kubernetes:Kueue:QueueName</c>): the Workloads of queued runs, their
/// queue positions from the visibility API (one call per waiting queue per refresh), and the preemption budget.
/// </summary>
internal sealed partial class KubernetesRunMonitor
{
    // Kueue (only with Training:Kubernetes:Kueue:QueueName), under _gate: Workloads and queue positions by Job uid, the
    // runs whose spent preemption budget is being enforced, and the queues whose positions cannot be read (logged once).
    private readonly Dictionary<string, CachedWorkload> _workloads = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, int> _positions = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _enforcing = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _positionsUnavailable = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _positionsWanted = new(0, 1);
    /// <summary>Gives a queued run its Workload and position (under the lock), when the monitor watches Workloads.</summary>
    private void AttachKueue(CachedJob job)
    {
        if (_workloadInformer is null || job.QueueName is null)
        {
            return;
        }

        var uid = job.Uid.ToString();
        job.Workload = _workloads.TryGetValue(uid, out var workload) ? workload : null;
        job.QueuePosition = _positions.TryGetValue(uid, out var position) ? position : null;
    }

    private void ReplaceWorkloads(IReadOnlyList<KueueWorkload> items)
    {
        lock (_gate)
        {
            _workloads.Clear();
            foreach (var workload in items.Select(CachedWorkload.From))
            {
                if (workload?.JobUid is { } uid)
                {
                    _workloads[uid] = workload;
                }
            }

            foreach (var job in _cache.Jobs.Where(j => j.QueueName is not null).ToList())
            {
                AttachKueue(job);
                _events.Publish(job);
                EnforceBudgetIfSpent(job);
            }
        }

        WantPositions();
    }

    private void ApplyWorkload(bool deleted, KueueWorkload item)
    {
        lock (_gate)
        {
            if (CachedWorkload.From(item) is not { JobUid: { } uid } workload)
            {
                return;
            }

            if (deleted)
            {
                _workloads.Remove(uid);
                _positions.Remove(uid);
            }
            else
            {
                _workloads[uid] = workload;
                if (workload.Admitted || !workload.Active)
                {
                    // Out of the queue: its last position must not come back with a later preemption.
                    _positions.Remove(uid);
                }
            }

            var job = workload.JobName is { } name && _cache.TryGetJob(name, out var named) && named.Uid.ToString().Equals(uid, StringComparison.OrdinalIgnoreCase)
                ? named
                : _cache.Jobs.FirstOrDefault(j => j.Uid.ToString().Equals(uid, StringComparison.OrdinalIgnoreCase));
            if (job is not null)
            {
                AttachKueue(job);
                _events.Publish(job);
                EnforceBudgetIfSpent(job);
            }
        }

        WantPositions();
    }

    /// <summary>
    /// A run preempted more often than allowed: its Workload is deactivated and the outcome recorded on its Job, once per
    /// host (the writes are idempotent, so several hosts doing it at once agree). Called under the lock; the calls run after.
    /// </summary>
    private void EnforceBudgetIfSpent(CachedJob job)
    {
        if (_client is not { } client || !KueueStatus.NeedsEnforcement(job, _options) || job.Workload is not { } workload || !_enforcing.Add(workload.JobUid!))
        {
            return;
        }

        MonitorLog.PreemptionBudgetExhausted(_logger, job.Run.JobId, workload.Preemptions, _options.Kueue.MaxPreemptions, workload.Name);
        var (ns, name, uid) = (Namespace, job.Name, job.Uid);
        _ = Task.Run(async () =>
        {
            try
            {
                if (await KueueClient.EnforceBudgetAsync(client, ns, name, uid, workload.Name, _time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false) is { } written)
                {
                    Observe(written);
                }
            }
            catch (Exception ex) when (ex is k8s.Autorest.HttpOperationException or HttpRequestException or IOException or TaskCanceledException)
            {
                MonitorLog.PreemptionBudgetNotRecorded(_logger, job.Run.JobId, ex.Message);
                lock (_gate)
                {
                    // The next change of the Workload or Job tries again.
                    _enforcing.Remove(workload.JobUid!);
                }
            }
        });
    }

    private void WantPositions()
    {
        try
        {
            _positionsWanted.Release();
        }
        catch (SemaphoreFullException)
        {
            // A refresh is already wanted.
        }
        catch (ObjectDisposedException)
        {
            // The monitor is shutting down.
        }
    }

    /// <summary>
    /// Keeps the queue positions of waiting runs: one visibility call per LocalQueue that has waiting runs, when Workloads
    /// change (at most once a second) and every <see cref="KubernetesMonitorOptions.ReevaluateInterval"/>; none while no
    /// run waits. A queue whose positions cannot be read (403, 404) is logged once and not asked again.
    /// </summary>
    private async Task RefreshPositionsAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await _positionsWanted.WaitAsync(_options.Monitor.ReevaluateInterval, cancellationToken).ConfigureAwait(false);
                if (await RefreshPositionsOnceAsync(cancellationToken).ConfigureAwait(false) > 0)
                {
                    // Workloads change all the time while a queue drains; the positions are read at most this often,
                    // so the cost is one call per queue per interval, not per change or per run. A pass with no queue
                    // to ask (nothing waiting yet) does not wait: the first position comes as soon as a run waits.
                    await Task.Delay(_options.Kueue.PositionRefreshInterval, _time, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (ObjectDisposedException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <returns>How many queues were asked.</returns>
    private async Task<int> RefreshPositionsOnceAsync(CancellationToken cancellationToken)
    {
        List<string> queues;
        lock (_gate)
        {
            queues = _cache.Jobs.Where(IsWaiting).Select(j => j.QueueName!).Where(q => !_positionsUnavailable.Contains(q)).Distinct(StringComparer.Ordinal).ToList();
        }

        foreach (var queue in queues)
        {
            Dictionary<string, int>? positions;
            try
            {
                positions = await KueueClient.TryReadPositionsAsync(_client!, Namespace, queue, reason =>
                {
                    lock (_gate)
                    {
                        if (_positionsUnavailable.Add(queue))
                        {
                            MonitorLog.QueuePositionUnavailable(_logger, Namespace, queue, reason);
                        }
                    }
                }, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is k8s.Autorest.HttpOperationException or HttpRequestException or IOException)
            {
                continue; // Tried again on the next refresh.
            }

            lock (_gate)
            {
                foreach (var job in _cache.Jobs.Where(j => j.QueueName == queue).ToList())
                {
                    var uid = job.Uid.ToString();
                    int? now = positions is not null && IsWaiting(job) && positions.TryGetValue(uid, out var p) ? p : null;
                    int? before = _positions.TryGetValue(uid, out var b) ? b : null;
                    if (now == before)
                    {
                        continue;
                    }

                    if (now is { } value)
                    {
                        _positions[uid] = value;
                    }
                    else
                    {
                        _positions.Remove(uid);
                    }

                    AttachKueue(job);
                    _events.Publish(job);
                }
            }
        }

        return queues.Count;
    }

    /// <summary>Whether a run waits in its queue (suspended, its Workload neither admitted nor deactivated). Under the lock.</summary>
    private bool IsWaiting(CachedJob job) =>
        job.QueueName is not null && job.Suspend && !job.IsFinished && job.StopRequestedAt is null &&
        _workloads.TryGetValue(job.Uid.ToString(), out var workload) && workload is { Admitted: false, Active: true };
}
