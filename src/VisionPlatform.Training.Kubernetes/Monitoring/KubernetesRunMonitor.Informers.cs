using k8s;
using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>The monitor's three informers (Jobs, pods, FailedCreate Events) and how their lists and events reach the cache.</summary>
internal sealed partial class KubernetesRunMonitor
{
    private void CreateInformers(IKubernetes client)
    {
        var ns = _options.Namespace;
        var selector = $"{KubernetesLabels.ManagedBy}={KubernetesLabels.ManagedByValue}";
        var pageSize = _options.Monitor.ListPageSize;
        var timeoutSeconds = (int)_options.Monitor.WatchTimeout.TotalSeconds;
        _jobInformer = new ResourceInformer<V1Job>(
            "jobs",
            async (next, ct) =>
            {
                var page = await client.BatchV1.ListNamespacedJobAsync(ns, labelSelector: selector, limit: pageSize, continueParameter: next, cancellationToken: ct).ConfigureAwait(false);
                return (page.Items ?? [], page.Metadata?.ResourceVersion, page.Metadata?.ContinueProperty);
            },
            (rv, onError, ct) => client.BatchV1.WatchListNamespacedJobAsync(ns, allowWatchBookmarks: true, labelSelector: selector, resourceVersion: rv, timeoutSeconds: timeoutSeconds, onError: onError, cancellationToken: ct),
            new JobTarget(this),
            _options.Monitor,
            _time,
            _logger);
        _podInformer = new ResourceInformer<V1Pod>(
            "pods",
            async (next, ct) =>
            {
                var page = await client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: selector, limit: pageSize, continueParameter: next, cancellationToken: ct).ConfigureAwait(false);
                return (page.Items ?? [], page.Metadata?.ResourceVersion, page.Metadata?.ContinueProperty);
            },
            (rv, onError, ct) => client.CoreV1.WatchListNamespacedPodAsync(ns, allowWatchBookmarks: true, labelSelector: selector, resourceVersion: rv, timeoutSeconds: timeoutSeconds, onError: onError, cancellationToken: ct),
            new PodTarget(this),
            _options.Monitor,
            _time,
            _logger);

        // Pods the cluster refuses to create (quota, Pod Security, LimitRange, a missing ServiceAccount) show only as the
        // Job controller's FailedCreate Events. One more watch for the namespace, not one read per run; optional, so a
        // host without RBAC on events keeps everything else.
        _eventInformer = new ResourceInformer<Corev1Event>(
            "events",
            async (next, ct) =>
            {
                var page = await client.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: PodCreateFailure.FieldSelector, limit: pageSize, continueParameter: next, cancellationToken: ct).ConfigureAwait(false);
                return (page.Items ?? [], page.Metadata?.ResourceVersion, page.Metadata?.ContinueProperty);
            },
            (rv, onError, ct) => client.CoreV1.WatchListNamespacedEventAsync(ns, allowWatchBookmarks: true, fieldSelector: PodCreateFailure.FieldSelector, resourceVersion: rv, timeoutSeconds: timeoutSeconds, onError: onError, cancellationToken: ct),
            new EventTarget(this),
            _options.Monitor,
            _time,
            _logger,
            optional: true);
    }

    /// <summary>
    /// Kueue's Workloads of the namespace, only when a queue is configured (hosts without Kueue keep exactly their three
    /// watches). Optional: without RBAC on workloads, or without Kueue, statuses say Queued from the Job alone.
    /// </summary>
    private void CreateWorkloadInformer(IKubernetes client)
    {
        var ns = _options.Namespace;
        var pageSize = _options.Monitor.ListPageSize;
        var timeoutSeconds = (int)_options.Monitor.WatchTimeout.TotalSeconds;
        _workloadInformer = new ResourceInformer<KueueWorkload>(
            "workloads.kueue.x-k8s.io",
            async (next, ct) =>
            {
                using var page = await client.CustomObjects.ListNamespacedCustomObjectWithHttpMessagesAsync<KueueWorkloadList>(
                    KueueApi.Group, KueueApi.Version, ns, KueueApi.WorkloadsPlural, limit: pageSize, continueParameter: next, cancellationToken: ct).ConfigureAwait(false);
                return (page.Body?.Items ?? [], page.Body?.Metadata?.ResourceVersion, page.Body?.Metadata?.ContinueProperty);
            },
            (rv, onError, ct) => WatchWorkloadsAsync(client, ns, rv, timeoutSeconds, onError, ct),
            new WorkloadTarget(this),
            _options.Monitor,
            _time,
            _logger,
            optional: true,
            unavailableEffect: "run statuses will not show Kueue's reasons (Queued, Preempted) nor enforce Training:Kubernetes:Kueue:MaxPreemptions");
    }

    private static async IAsyncEnumerable<(WatchEventType Type, KueueWorkload Object)> WatchWorkloadsAsync(
        IKubernetes client, string ns, string resourceVersion, int timeoutSeconds, Action<Exception> onError, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // The custom-object watch yields untyped objects: each is read as the Workload fields the SDK uses.
        await foreach (var (type, item) in client.CustomObjects.WatchListNamespacedCustomObjectAsync(
            KueueApi.Group, KueueApi.Version, ns, KueueApi.WorkloadsPlural, allowWatchBookmarks: true, resourceVersion: resourceVersion,
            timeoutSeconds: timeoutSeconds, onError: onError, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var json = item is System.Text.Json.JsonElement element ? element.GetRawText() : KubernetesJson.Serialize(item);
            if (KubernetesJson.Deserialize<KueueWorkload>(json) is { } workload)
            {
                yield return (type, workload);
            }
        }
    }

    private void ApplyEvents(IEnumerable<Corev1Event> items)
    {
        lock (_gate)
        {
            foreach (var item in items)
            {
                if (_createFailures.Record(item, _cache) is { } job)
                {
                    _events.Publish(job);
                }
            }
        }
    }

    private sealed class JobTarget(KubernetesRunMonitor monitor) : IInformerTarget<V1Job>
    {
        public void Replace(IReadOnlyList<V1Job> items, string? resourceVersion) => monitor.ReplaceJobs(items, resourceVersion);

        public void Apply(WatchEventType type, V1Job item) => monitor.ApplyJob(type, item);

        public void Advanced(string resourceVersion)
        {
        }

        public void SyncChanged() => monitor.SyncChanged();
    }

    private sealed class PodTarget(KubernetesRunMonitor monitor) : IInformerTarget<V1Pod>
    {
        public void Replace(IReadOnlyList<V1Pod> items, string? resourceVersion) => monitor.ReplacePods(items, resourceVersion);

        public void Apply(WatchEventType type, V1Pod item) => monitor.ApplyPod(type, item);

        public void Advanced(string resourceVersion) => monitor.PodsAdvanced(resourceVersion);

        public void SyncChanged() => monitor.SyncChanged();
    }

    private sealed class WorkloadTarget(KubernetesRunMonitor monitor) : IInformerTarget<KueueWorkload>
    {
        public void Replace(IReadOnlyList<KueueWorkload> items, string? resourceVersion) => monitor.ReplaceWorkloads(items);

        public void Apply(WatchEventType type, KueueWorkload item) => monitor.ApplyWorkload(type == WatchEventType.Deleted, item);

        public void Advanced(string resourceVersion)
        {
        }

        // Workloads never hold back the monitor's sync, as Events do not.
        public void SyncChanged()
        {
        }
    }

    private sealed class EventTarget(KubernetesRunMonitor monitor) : IInformerTarget<Corev1Event>
    {
        public void Replace(IReadOnlyList<Corev1Event> items, string? resourceVersion) => monitor.ApplyEvents(items);

        public void Apply(WatchEventType type, Corev1Event item)
        {
            if (type != WatchEventType.Deleted)
            {
                monitor.ApplyEvents([item]);
            }
        }

        public void Advanced(string resourceVersion)
        {
        }

        // Events never hold back the monitor's sync: they only add a reason to a run that has no pod.
        public void SyncChanged()
        {
        }
    }
}
