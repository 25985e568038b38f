using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Controllers;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Kueue;

/// <summary>
/// Kueue's reconciler for batch/v1 Jobs with a queue name: it creates the Job's Workload, marks it Finished when the
/// Job completes or fails, and keeps the Job's <c>spec.suspend</c> in line with the Workload's admission (start with the
/// flavors' node labels in the pod template; stop, restoring the template, when not admitted).
/// </summary>
internal sealed class JobIntegration(ClusterStore store, EventRecorder events, TimeProvider time)
{
    /// <summary>Creates missing Workloads, sets Finished, and fills in priorities whose class appeared later.</summary>
    public void SyncWorkloads(IReadOnlyList<JsonObject> jobs, KueueSnapshot snapshot)
    {
        var byOwner = OwnedWorkloads(snapshot);
        foreach (var job in jobs)
        {
            if (job.HasDeletionTimestamp())
            {
                continue;
            }

            if (!byOwner.TryGetValue(job.Uid(), out var workload))
            {
                if (!IsFinished(job))
                {
                    Create(job, snapshot);
                }

                continue;
            }

            if (IsFinished(job) && !workload.IsFinished)
            {
                var failed = job.ConditionIsTrue("Failed");
                var message = failed ? job.Condition("Failed").Str("message") ?? "Job failed" : "Job finished successfully";
                ObjectWriter.Update(store, ResourceType.Workloads, workload.Object, w =>
                    Conditions.Set(w, KueueNames.Finished, "True", failed ? "Failed" : "Succeeded", message, time.GetUtcNow()));
            }

            var spec = workload.Object.ObjOrNull("spec");
            if (spec.Long("priority") is null && spec.Str("priorityClassName") is { } className
                && snapshot.PriorityClasses.TryGetValue(className, out var priorityClass))
            {
                ObjectWriter.Update(store, ResourceType.Workloads, workload.Object, w => w.Obj("spec")["priority"] = priorityClass.Long("value") ?? 0);
            }
        }
    }

    /// <summary>Starts Jobs whose Workload is admitted and stops the ones whose Workload is not.</summary>
    public void StartAndStop(IReadOnlyList<JsonObject> jobs, KueueSnapshot snapshot)
    {
        var byOwner = OwnedWorkloads(snapshot);
        foreach (var job in jobs)
        {
            if (job.HasDeletionTimestamp() || IsFinished(job) || !byOwner.TryGetValue(job.Uid(), out var workload))
            {
                continue;
            }

            var suspended = job.ObjOrNull("spec").Bool("suspend") == true;
            var admitted = workload.HasQuotaReservation && workload.Object.ConditionIsTrue(KueueNames.Admitted) && !workload.IsFinished;
            if (admitted && suspended)
            {
                Start(job, workload, snapshot);
            }
            else if (!admitted && !suspended && !workload.IsFinished)
            {
                Stop(job, workload);
            }
        }
    }

    private static bool IsFinished(JsonObject job) => job.ConditionIsTrue("Complete") || job.ConditionIsTrue("Failed");

    private static Dictionary<string, WorkloadInfo> OwnedWorkloads(KueueSnapshot snapshot)
    {
        var byOwner = new Dictionary<string, WorkloadInfo>(StringComparer.Ordinal);
        foreach (var workload in snapshot.Workloads)
        {
            if (workload.Object.ControllerRef() is { } owner && owner.Str("kind") == "Job" && owner.Str("uid") is { } uid)
            {
                byOwner.TryAdd(uid, workload);
            }
        }

        return byOwner;
    }

    private void Create(JsonObject job, KueueSnapshot snapshot)
    {
        var workload = WorkloadBuilder.ForJob(job, snapshot.PriorityClasses);
        try
        {
            var created = store.Create(ResourceType.Workloads, job.Namespace(), workload);
            events.Record(job, "Normal", "CreatedWorkload", $"Created Workload: {job.Namespace()}/{created.Name()}");
        }
        catch (StoreException ex) when (ex.Code is 409 or 404 or 403)
        {
            // created by an earlier pass, or the namespace is going away
        }
    }

    private void Start(JsonObject job, WorkloadInfo workload, KueueSnapshot snapshot)
    {
        var assignment = workload.Admission.ArrOrNull("podSetAssignments").Objects().FirstOrDefault();
        var nodeLabels = assignment is null ? [] : FlavorAssigner.NodeLabels(assignment, snapshot.Flavors);
        var started = ObjectWriter.Update(store, ResourceType.Jobs, job, j =>
        {
            var spec = j.Obj("spec");
            if (spec.Bool("suspend") != true)
            {
                return;
            }

            spec["suspend"] = false;
            if (nodeLabels.Count > 0)
            {
                var podSpec = spec.Obj("template").Obj("spec");
                var selector = podSpec.Obj("nodeSelector");
                foreach (var (key, value) in nodeLabels)
                {
                    selector[key] = value;
                }
            }
        });
        if (started)
        {
            events.Record(job, "Normal", "Started", $"Admitted by clusterQueue {workload.Admission.Str("clusterQueue")}");
        }
    }

    private void Stop(JsonObject job, WorkloadInfo workload)
    {
        // the Workload keeps the template the Job was submitted with: restore its nodeSelector, as Kueue does on stop
        var original = workload.Object.ObjOrNull("spec").ArrOrNull("podSets").Objects().FirstOrDefault()
            .ObjOrNull("template").ObjOrNull("spec").ObjOrNull("nodeSelector");
        var stopped = ObjectWriter.Update(store, ResourceType.Jobs, job, j =>
        {
            var spec = j.Obj("spec");
            if (spec.Bool("suspend") == true)
            {
                return;
            }

            spec["suspend"] = true;
            var podSpec = spec.Obj("template").Obj("spec");
            if (original is null)
            {
                podSpec.Remove("nodeSelector");
            }
            else
            {
                podSpec["nodeSelector"] = original.DeepClone();
            }
        });
        if (stopped)
        {
            var message = workload.Object.ConditionIsTrue(KueueNames.Evicted)
                ? workload.Object.Condition(KueueNames.Evicted).Str("message") ?? "Evicted"
                : "Not admitted by cluster queue";
            events.Record(job, "Normal", "Stopped", message);
        }
    }
}
