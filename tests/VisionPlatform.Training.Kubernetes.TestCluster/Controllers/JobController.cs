using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Controllers;

/// <summary>
/// The Job controller: for every Job it creates and deletes pods and writes the status that <see cref="JobSyncPlanner"/>
/// computes, counting finished pods through <c>uncountedTerminatedPods</c> and the <c>batch.kubernetes.io/job-tracking</c>
/// pod finalizer as the upstream controller does.
/// </summary>
public sealed partial class JobController : ReconcilingComponent
{
    private readonly Dictionary<string, CreateBackoff> _createBackoff = new(StringComparer.Ordinal);
    private EventRecorder? _events;

    /// <summary>Creates the component.</summary>
    public JobController()
        : base("job-controller")
    {
    }

    /// <inheritdoc />
    protected override IReadOnlyList<ResourceType> WatchedTypes { get; } = [ResourceType.Jobs, ResourceType.Pods];

    /// <inheritdoc />
    protected override void OnStarting(ClusterContext context)
    {
        _events = new EventRecorder(context.Store, context.Time, "job-controller");
    }

    /// <inheritdoc />
    protected override Task<TimeSpan?> ReconcileAsync(CancellationToken cancellationToken)
    {
        var context = Context!;
        var store = context.Store;
        var jobs = store.List(ResourceType.Jobs, null).Items;
        var pods = store.List(ResourceType.Pods, null).Items;
        var podsByOwner = pods
            .Where(p => p.ControllerRef() is { } r && r.Str("kind") == "Job")
            .GroupBy(p => p.ControllerRef().Str("uid") ?? string.Empty)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<JsonObject>)g.ToList(), StringComparer.Ordinal);

        TimeSpan? requeue = null;
        var liveJobs = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        foreach (var job in jobs)
        {
            cancellationToken.ThrowIfCancellationRequested();
            liveJobs[job.Uid()] = job;
            var owned = podsByOwner.GetValueOrDefault(job.Uid()) ?? [];
            try
            {
                var wait = Sync(job, owned);
                if (wait is { } w && (requeue is null || w < requeue))
                {
                    requeue = w;
                }
            }
            catch (StoreException ex)
            {
                // a conflict or a vanished object: the next pass sees the new state
                var (ns, name, reason) = (job.Namespace(), job.Name(), ex.Message);
                LogSyncFailed(Logger, ns, name, reason);
                requeue = TimeSpan.FromMilliseconds(100);
            }
        }

        foreach (var uid in _createBackoff.Keys.Where(uid => !liveJobs.ContainsKey(uid)).ToList())
        {
            _createBackoff.Remove(uid);
        }

        // pods whose Job is gone or finished must not keep the tracking finalizer (upstream syncOrphanPod)
        foreach (var pod in pods.Where(p => p.HasFinalizer(JobLabels.TrackingFinalizer)))
        {
            var owner = pod.ControllerRef();
            var ownerJob = owner is null ? null : liveJobs.GetValueOrDefault(owner.Str("uid") ?? string.Empty);
            if (ownerJob is null || JobSyncPlanner.IsFinished(ownerJob))
            {
                RemoveTrackingFinalizer(pod);
            }
        }

        return Task.FromResult(requeue);
    }

    private TimeSpan? Sync(JsonObject job, IReadOnlyList<JsonObject> pods)
    {
        var context = Context!;
        var store = context.Store;
        var plan = JobSyncPlanner.Plan(job, pods, context.Time.GetUtcNow(), context.Options.Workloads.JobPodFailureBackoff);

        foreach (var pod in plan.PodsToReleaseAndDelete)
        {
            RemoveTrackingFinalizer(pod);
        }

        foreach (var pod in plan.PodsToDelete.Concat(plan.PodsToReleaseAndDelete))
        {
            try
            {
                store.Delete(ResourceType.Pods, pod.Namespace(), pod.Name(), DeleteOptions.Default);
            }
            catch (StoreException ex) when (ex.Code == 404)
            {
                // already gone
            }
        }

        var notCreated = CreatePods(job, plan, pods, out var retryAfter);
        if (notCreated > 0)
        {
            // upstream manageJob: a pod that was not created is not active (the status must not count it)
            ReduceActive(plan.InterimStatus, notCreated);
            ReduceActive(plan.FinalStatus, notCreated);
            plan.RequeueAfter = plan.RequeueAfter is { } r && r < retryAfter ? r : retryAfter;
        }

        var stored = job["status"] as JsonObject ?? new JsonObject();
        if (plan.InterimStatus is { } interim && !JsonNode.DeepEquals(interim, stored))
        {
            WriteStatus(job, interim);
            stored = interim;
        }

        foreach (var pod in plan.PodsToRemoveFinalizer)
        {
            RemoveTrackingFinalizer(pod);
        }

        if (!JsonNode.DeepEquals(plan.FinalStatus, stored))
        {
            WriteStatus(job, plan.FinalStatus);
        }

        return plan.RequeueAfter;
    }

    /// <summary>
    /// Creates the planned pods through admission, stopping at the first refusal: a refused create is recorded as a
    /// FailedCreate Warning Event on the Job and retried after a per-Job back-off (upstream: the work queue's
    /// exponential failure rate limiter, 1 s doubling to 60 s, forgotten after a sync without errors).
    /// </summary>
    /// <returns>How many planned pods were not created.</returns>
    private int CreatePods(JsonObject job, JobSyncPlan plan, IReadOnlyList<JsonObject> pods, out TimeSpan retryAfter)
    {
        var context = Context!;
        retryAfter = TimeSpan.Zero;
        if (plan.PodsToCreate.Count == 0)
        {
            return 0;
        }

        var now = context.Time.GetUtcNow();
        var uid = job.Uid();
        if (_createBackoff.TryGetValue(uid, out var backoff) && backoff.NotBefore > now)
        {
            retryAfter = backoff.NotBefore - now;
            return plan.PodsToCreate.Count;
        }

        for (var i = 0; i < plan.PodsToCreate.Count; i++)
        {
            try
            {
                var created = context.Admission.CreatePod(job.Namespace(), JobPodTemplate.Build(job, plan.PodsToCreate[i], pods));
                var (ns, jobName, podName) = (job.Namespace(), job.Name(), created.Name());
                LogPodCreated(Logger, ns, jobName, podName);
            }
            catch (StoreException ex) when (ex.Code != 409)
            {
                var failures = (backoff?.Failures ?? 0) + 1;
                var delay = TimeSpan.FromTicks(Math.Min(
                    context.Options.Workloads.JobCreateBackoff.Ticks * (1L << Math.Min(failures - 1, 20)),
                    context.Options.Workloads.MaxJobCreateBackoff.Ticks));
                _createBackoff[uid] = new CreateBackoff(failures, now + delay);
                retryAfter = delay;
                var involved = job.DeepClone().AsObject();
                involved["kind"] ??= "Job";
                involved["apiVersion"] ??= "batch/v1";
                _events!.Record(involved, "Warning", "FailedCreate", "Error creating: " + ex.Message);
                var (ns, jobName, reason) = (job.Namespace(), job.Name(), ex.Message);
                LogPodCreateFailed(Logger, ns, jobName, reason);
                return plan.PodsToCreate.Count - i;
            }
        }

        _createBackoff.Remove(uid);
        return 0;
    }

    private static void ReduceActive(JsonObject? status, int by)
    {
        if (status is null)
        {
            return;
        }

        var active = (status.Long("active") ?? 0) - by;
        if (active > 0)
        {
            status["active"] = active;
        }
        else
        {
            status.Remove("active");
        }
    }

    private void WriteStatus(JsonObject job, JsonObject status)
    {
        var uid = job.Uid();
        Context.Store.Update(ResourceType.Jobs, job.Namespace(), job.Name(), current =>
        {
            if (current.Uid() == uid)
            {
                current["status"] = status.DeepClone();
            }

            return current;
        });
    }

    private void RemoveTrackingFinalizer(JsonObject pod)
    {
        var uid = pod.Uid();
        try
        {
            Context.Store.Update(ResourceType.Pods, pod.Namespace(), pod.Name(), current =>
            {
                if (current.Uid() == uid)
                {
                    current.RemoveFinalizer(JobLabels.TrackingFinalizer);
                }

                return current;
            });
        }
        catch (StoreException ex) when (ex.Code == 404)
        {
            // gone already: counts as removed
        }
    }

    [LoggerMessage(EventId = 4200, Level = LogLevel.Debug, Message = "Job {Namespace}/{Job}: created pod {Pod}")]
    private static partial void LogPodCreated(ILogger logger, string @namespace, string job, string pod);

    [LoggerMessage(EventId = 4201, Level = LogLevel.Debug, Message = "Job {Namespace}/{Job}: sync deferred: {Reason}")]
    private static partial void LogSyncFailed(ILogger logger, string @namespace, string job, string reason);

    [LoggerMessage(EventId = 4202, Level = LogLevel.Debug, Message = "Job {Namespace}/{Job}: pod creation refused: {Reason}")]
    private static partial void LogPodCreateFailed(ILogger logger, string @namespace, string job, string reason);

    /// <summary>A Job's pod-creation back-off: consecutive refused creates and when the next attempt may run.</summary>
    private sealed record CreateBackoff(int Failures, DateTimeOffset NotBefore);
}

/// <summary>Builds the pod the Job controller creates from the Job's template.</summary>
internal static class JobPodTemplate
{
    private const int MaxGeneratedNameLength = 58;

    public static JsonObject Build(JsonObject job, int? completionIndex, IReadOnlyList<JsonObject> existingPods)
    {
        var name = job.Name();
        var uid = job.Uid();
        var template = job.ObjOrNull("spec").ObjOrNull("template")?.DeepClone().AsObject() ?? new JsonObject();
        var templateMeta = template.ObjOrNull("metadata") ?? new JsonObject();
        var spec = template.ObjOrNull("spec")?.DeepClone().AsObject() ?? new JsonObject();

        var labels = templateMeta.ObjOrNull("labels")?.DeepClone().AsObject() ?? new JsonObject();
        // the apiserver put these into the template when it generated the selector; make sure pods carry them
        labels[JobLabels.ControllerUid] ??= uid;
        labels[JobLabels.JobName] ??= name;
        labels[JobLabels.LegacyControllerUid] ??= uid;
        labels[JobLabels.LegacyJobName] ??= name;
        var annotations = templateMeta.ObjOrNull("annotations")?.DeepClone().AsObject() ?? new JsonObject();

        var metadata = new JsonObject
        {
            ["generateName"] = name + "-",
            ["namespace"] = job.Namespace(),
            ["labels"] = labels,
            ["finalizers"] = KubeJson.StringArray([JobLabels.TrackingFinalizer]),
            ["ownerReferences"] = new JsonArray(new JsonObject
            {
                ["apiVersion"] = "batch/v1",
                ["kind"] = "Job",
                ["name"] = name,
                ["uid"] = uid,
                ["controller"] = true,
                ["blockOwnerDeletion"] = true,
            }),
        };

        if (completionIndex is { } index)
        {
            var text = index.ToString(CultureInfo.InvariantCulture);
            annotations[JobLabels.CompletionIndex] = text;
            labels[JobLabels.CompletionIndex] = text;
            spec["hostname"] = $"{name}-{text}";
            metadata["generateName"] = GenerateNameWithIndex(name, index);
            AddCompletionIndexEnv(spec);
            if (job.ObjOrNull("spec").Int("backoffLimitPerIndex") is not null)
            {
                var failures = existingPods.Count(p => JobSyncPlanner.CompletionIndex(p) == index && p.PodPhase() == "Failed");
                annotations[JobLabels.IndexFailureCount] = failures.ToString(CultureInfo.InvariantCulture);
            }
        }

        if (annotations.Count > 0)
        {
            metadata["annotations"] = annotations;
        }

        ApplyPodDefaults(spec);
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = metadata,
            ["spec"] = spec,
            ["status"] = new JsonObject { ["phase"] = "Pending", ["qosClass"] = QosClass(spec) },
        };
    }

    /// <summary>Upstream podGenerateNameWithIndex: <c>&lt;job&gt;-&lt;index&gt;-</c>, the job part trimmed to fit 58 characters.</summary>
    internal static string GenerateNameWithIndex(string jobName, int index)
    {
        var appendix = $"-{index.ToString(CultureInfo.InvariantCulture)}-";
        var prefix = jobName + appendix;
        return prefix.Length > MaxGeneratedNameLength ? jobName[..(MaxGeneratedNameLength - appendix.Length)] + appendix : prefix;
    }

    private static void AddCompletionIndexEnv(JsonObject spec)
    {
        foreach (var list in new[] { spec.ArrOrNull("containers"), spec.ArrOrNull("initContainers") })
        {
            foreach (var container in list.Objects())
            {
                var env = container["env"] as JsonArray ?? [];
                container["env"] = env;
                if (env.Objects().Any(e => e.Str("name") == "JOB_COMPLETION_INDEX"))
                {
                    continue;
                }

                env.Add(new JsonObject
                {
                    ["name"] = "JOB_COMPLETION_INDEX",
                    ["valueFrom"] = new JsonObject
                    {
                        ["fieldRef"] = new JsonObject
                        {
                            ["apiVersion"] = "v1",
                            ["fieldPath"] = $"metadata.annotations['{JobLabels.CompletionIndex}']",
                        },
                    },
                });
            }
        }
    }

    /// <summary>The pod defaults the apiserver applies on create (the controller writes to storage directly).</summary>
    private static void ApplyPodDefaults(JsonObject spec)
    {
        spec["restartPolicy"] ??= "Always";
        spec["terminationGracePeriodSeconds"] ??= 30;
        spec["dnsPolicy"] ??= "ClusterFirst";
        spec["schedulerName"] ??= "default-scheduler";
        spec["securityContext"] ??= new JsonObject();
        spec["enableServiceLinks"] ??= true;
        spec["preemptionPolicy"] ??= "PreemptLowerPriority";
        spec["priority"] ??= 0;
        spec["serviceAccountName"] ??= "default";
        spec["tolerations"] ??= new JsonArray();
        var tolerations = (JsonArray)spec["tolerations"]!;
        foreach (var key in new[] { "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable" })
        {
            if (!tolerations.Objects().Any(t => t.Str("key") == key))
            {
                tolerations.Add(new JsonObject { ["key"] = key, ["operator"] = "Exists", ["effect"] = "NoExecute", ["tolerationSeconds"] = 300 });
            }
        }

        foreach (var container in spec.ArrOrNull("containers").Objects().Concat(spec.ArrOrNull("initContainers").Objects()))
        {
            container["terminationMessagePath"] ??= "/dev/termination-log";
            container["terminationMessagePolicy"] ??= "File";
            container["resources"] ??= new JsonObject();
            if (container["imagePullPolicy"] is null)
            {
                var image = container.Str("image") ?? string.Empty;
                var lastSegment = image[(image.LastIndexOf('/') + 1)..];
                container["imagePullPolicy"] = !lastSegment.Contains(':', StringComparison.Ordinal) || image.EndsWith(":latest", StringComparison.Ordinal)
                    ? "Always"
                    : "IfNotPresent";
            }
        }
    }

    private static string QosClass(JsonObject spec)
    {
        var containers = spec.ArrOrNull("containers").Objects().ToList();
        var any = false;
        var guaranteed = containers.Count > 0;
        foreach (var container in containers)
        {
            var requests = container.ObjOrNull("resources").ObjOrNull("requests");
            var limits = container.ObjOrNull("resources").ObjOrNull("limits");
            any |= (requests?.Count ?? 0) > 0 || (limits?.Count ?? 0) > 0;
            foreach (var resource in new[] { "cpu", "memory" })
            {
                var limit = limits.Str(resource) ?? limits?[resource]?.ToString();
                var request = requests.Str(resource) ?? requests?[resource]?.ToString() ?? limit;
                if (limit is null || request != limit)
                {
                    guaranteed = false;
                }
            }
        }

        return !any ? "BestEffort" : guaranteed ? "Guaranteed" : "Burstable";
    }
}
