using System.Runtime.CompilerServices;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>Status reads: from the run monitor's cache while it is synced, else from the Job and its pods; and watching.</summary>
public sealed partial class KubernetesTrainingExecutor
{
    /// <inheritdoc />
    public async Task<TrainingRunStatus> GetStatusAsync(TrainingRun run, CancellationToken cancellationToken = default)
    {
        if (!TryLocate(run, out var ns, out var name))
        {
            return NotFound(run);
        }

        if (Monitor is { IsSynced: true } monitor && monitor.TryGetStatus(run, out var cached, out var failedPod))
        {
            // From the monitor's cache: no API call, except one log read the first time a run is seen Failed.
            if (failedPod is not null && Options.FailureLogLines > 0)
            {
                var lines = await TryReadTailAsync(_connection.GetClient(), ns, failedPod, Options.FailureLogLines, cancellationToken).ConfigureAwait(false);
                monitor.RememberFailureTail(run, string.Join(Environment.NewLine, lines));
                monitor.TryGetStatus(run, out cached, out _);
            }

            return cached;
        }

        var client = _connection.GetClient();
        var job = await TryReadJobAsync(client, ns, name, run.JobId, cancellationToken).ConfigureAwait(false);
        return job is null || !BelongsTo(job, run.JobId)
            ? NotFound(run, ns, name)
            : await StatusOfAsync(client, run, job, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<TrainingRunStatus> WatchAsync(TrainingRun run, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (!TryLocate(run, out _, out _))
        {
            yield return NotFound(run);
            yield break;
        }

        TrainingRunStatus? last = null;
        while (true)
        {
            // Taken before the read, so a change in between wakes the wait below.
            var changed = Monitor is { IsSynced: true } monitor ? monitor.Changed(run) : null;
            var status = await GetStatusAsync(run, cancellationToken).ConfigureAwait(false);
            if (last is null || last.Phase != status.Phase || last.Reason != status.Reason || last.Attempt != status.Attempt ||
                last.ExitCode != status.ExitCode || last.Message != status.Message)
            {
                last = status;
                yield return status;
            }

            if (status.IsTerminal)
            {
                yield break;
            }

            if (changed is not null)
            {
                // Event-driven while the monitor is synced; the timeout only re-checks a run nothing reports on.
                await WaitAsync(changed, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await Task.Delay(Options.PollInterval, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The status of a Job read from the API: its pods listed, the failed trainer's last lines read.</summary>
    private async Task<TrainingRunStatus> StatusOfAsync(IKubernetes client, TrainingRun run, V1Job job, CancellationToken cancellationToken)
    {
        var pods = (await ListPodsAsync(client, job, run.JobId, cancellationToken).ConfigureAwait(false))
            .Select(CachedPod.Read).OfType<CachedPod>().ToList();
        var record = CachedJob.From(job, run, Options.Gpu.ResourceName);
        if (!record.IsFinished && !pods.Any(p => p.IsRunning))
        {
            // A run with no running pod may be one the cluster refuses to create: that is only said in an Event.
            record.CreateFailure = await TryReadCreateFailureAsync(client, job, cancellationToken).ConfigureAwait(false);
        }

        if (record.QueueName is not null && !record.IsFinished && record.StopRequestedAt is null)
        {
            record = await WithKueueAsync(client, run, job, record, cancellationToken).ConfigureAwait(false);
        }

        var now = _time.GetUtcNow();
        var status = Projection.Project(record, pods, now, failureTail: null);
        if (status.Phase == TrainingPhase.Failed && Options.FailureLogLines > 0 && pods.Count > 0 && RunStatusProjection.TerminationMessage(pods) is null)
        {
            var (ns, _) = Locate(run);
            var tail = await TryReadTailAsync(client, ns, PodGroup.FailedPod(CachedPod.OrderByCreation(pods))!.Name, Options.FailureLogLines, cancellationToken).ConfigureAwait(false);
            if (tail.Count > 0)
            {
                status = Projection.Project(record, pods, now, string.Join(Environment.NewLine, tail));
            }
        }

        return status;
    }

    /// <summary>
    /// A queued run read directly: its Workload (by the job-uid label), its position while it waits (one visibility call),
    /// and, when its preemption budget is spent and not recorded yet, the enforcement (see <see cref="KueueClient.EnforceBudgetAsync"/>).
    /// </summary>
    private async Task<CachedJob> WithKueueAsync(IKubernetes client, TrainingRun run, V1Job job, CachedJob record, CancellationToken cancellationToken)
    {
        var ns = job.Metadata.NamespaceProperty ?? Options.Namespace;
        record.Workload = await KueueClient.TryReadWorkloadAsync(client, ns, job.Metadata.Uid, cancellationToken).ConfigureAwait(false);
        if (KueueStatus.NeedsEnforcement(record, Options))
        {
            var workload = record.Workload!;
            MonitorLog.PreemptionBudgetExhausted(_logger, run.JobId, workload.Preemptions, Options.Kueue.MaxPreemptions, workload.Name);
            try
            {
                if (await KueueClient.EnforceBudgetAsync(client, ns, job.Metadata.Name, record.Uid, workload.Name, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false) is { } written)
                {
                    Monitor?.Observe(written);
                    record = CachedJob.From(written, run, Options.Gpu.ResourceName, record);
                }
            }
            catch (Exception ex) when (ex is HttpOperationException or HttpRequestException or IOException)
            {
                // Reported Failed all the same (from the Workload's count); the next read tries to record it again.
                MonitorLog.PreemptionBudgetNotRecorded(_logger, run.JobId, ex is HttpOperationException http ? KubernetesErrors.ReadStatus(http)?.Message ?? http.Message : ex.Message);
            }
        }
        else if (record.Suspend && record.Workload is { Admitted: false, Active: true } && !KueueStatus.IsBudgetExhausted(record, Options))
        {
            try
            {
                var positions = await KueueClient.TryReadPositionsAsync(client, ns, record.QueueName!, reason =>
                {
                    if (_positionsUnavailable.TryAdd($"{ns}/{record.QueueName}", true))
                    {
                        MonitorLog.QueuePositionUnavailable(_logger, ns, record.QueueName!, reason);
                    }
                }, cancellationToken).ConfigureAwait(false);
                record.QueuePosition = positions is not null && positions.TryGetValue(job.Metadata.Uid, out var position) ? position : null;
            }
            catch (Exception ex) when (ex is HttpOperationException or HttpRequestException or IOException)
            {
                record.QueuePosition = null;
            }
        }

        return record;
    }

    /// <summary>The Job controller's latest FailedCreate Event for the Job, or null (none, or Events cannot be read).</summary>
    private async Task<PodCreateFailure?> TryReadCreateFailureAsync(IKubernetes client, V1Job job, CancellationToken cancellationToken)
    {
        var ns = job.Metadata.NamespaceProperty ?? Options.Namespace;
        try
        {
            var events = await client.CoreV1.ListNamespacedEventAsync(
                ns, fieldSelector: $"{PodCreateFailure.FieldSelector},involvedObject.name={job.Metadata.Name}", cancellationToken: cancellationToken).ConfigureAwait(false);
            PodCreateFailure? latest = null;
            foreach (var item in events.Items ?? [])
            {
                if (PodCreateFailure.From(item, out _, out var uid) is { } failure && (uid is null || string.Equals(uid, job.Metadata.Uid, StringComparison.OrdinalIgnoreCase)))
                {
                    latest = latest is null ? failure : latest.Merge(failure);
                }
            }

            return latest;
        }
        catch (Exception ex) when (ex is HttpOperationException or HttpRequestException or IOException)
        {
            // Optional: without RBAC on events the status lacks the refusal's reason, nothing else.
            return null;
        }
    }

    private async Task WaitAsync(Task changed, CancellationToken cancellationToken)
    {
        try
        {
            await changed.WaitAsync(TimeSpan.FromSeconds(30), _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
    }

    private async Task<IReadOnlyList<string>> TryReadTailAsync(IKubernetes client, string ns, string podName, int lines, CancellationToken cancellationToken)
    {
        try
        {
            using var stream = await client.CoreV1.ReadNamespacedPodLogAsync(podName, ns, container: TrainingJobSpecBuilder.ContainerName, tailLines: lines, cancellationToken: cancellationToken).ConfigureAwait(false);
            return await PodLogLineReader.ReadTailAsync(stream, lines, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpOperationException or HttpRequestException or IOException)
        {
            Log.FailureLogUnavailable(_logger, podName, ex.Message);
            return [];
        }
    }

    private async Task<IReadOnlyList<V1Pod>> ListPodsAsync(IKubernetes client, V1Job job, string jobId, CancellationToken cancellationToken)
    {
        var ns = job.Metadata.NamespaceProperty ?? Options.Namespace;
        try
        {
            var list = await client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: PodSelector(job), cancellationToken: cancellationToken).ConfigureAwait(false);
            return (list.Items ?? []).Where(p => IsPodOf(p, job)).ToList();
        }
        catch (HttpOperationException ex)
        {
            throw KubernetesErrors.Translate(ex, "list", PodsResource, ns, jobId);
        }
        catch (HttpRequestException ex)
        {
            throw KubernetesErrors.Unreachable(ex, _connection.Source, "list", PodsResource, jobId);
        }
    }

    private static bool IsPodOf(V1Pod pod, V1Job job)
    {
        var uid = job.Metadata?.Uid;
        if (pod.Metadata?.OwnerReferences?.FirstOrDefault(o => o.Controller == true) is { } owner)
        {
            return owner.Uid == uid;
        }

        var labels = pod.Metadata?.Labels ?? new Dictionary<string, string>();
        return (labels.TryGetValue("batch.kubernetes.io/controller-uid", out var u) || labels.TryGetValue("controller-uid", out u))
            ? u == uid
            : labels.TryGetValue("job-name", out var n) && n == job.Metadata?.Name;
    }
}
