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
