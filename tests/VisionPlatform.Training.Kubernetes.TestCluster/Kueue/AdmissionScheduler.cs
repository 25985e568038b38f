using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Controllers;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Kueue;

/// <summary>
/// Kueue's scheduler, one ClusterQueue at a time: pending workloads in queue order are admitted while they fit the
/// unused nominal quota; one that does not fit may preempt lower-priority admitted workloads (the queue's
/// <c>withinClusterQueue</c> policy), else it stays pending with the flavor assigner's message. Under StrictFIFO the first
/// workload that cannot be admitted blocks the ones behind it; under BestEffortFIFO they are still tried.
/// </summary>
internal sealed class AdmissionScheduler(ClusterStore store, EventRecorder events, TimeProvider time)
{
    public void Schedule(KueueSnapshot snapshot)
    {
        foreach (var (workload, message) in snapshot.Inadmissible)
        {
            SetPending(workload, KueueNames.InadmissibleReason, message);
        }

        foreach (var queue in snapshot.ClusterQueues.Values.OrderBy(q => q.Name, StringComparer.Ordinal))
        {
            ScheduleQueue(queue, snapshot);
        }
    }

    /// <summary>The preemption message the victim's Evicted and Preempted conditions carry.</summary>
    public static string PreemptionMessage(WorkloadInfo preemptor) =>
        $"Preempted to accommodate a workload (UID: {preemptor.Uid}, JobUID: {preemptor.JobUid ?? "UNKNOWN"}) due to prioritization in the ClusterQueue";

    private void ScheduleQueue(ClusterQueueInfo queue, KueueSnapshot snapshot)
    {
        var admitted = snapshot.Admitted[queue.Name];
        var ledger = new QuotaLedger();
        foreach (var workload in admitted)
        {
            ledger.Add(workload);
        }

        foreach (var workload in snapshot.Pending[queue.Name])
        {
            var assignment = FlavorAssigner.Assign(queue, ledger, workload, snapshot.Flavors);
            if (!assignment.Fits)
            {
                var victims = PreemptionPlanner.Victims(queue, ledger, workload, admitted, snapshot.Flavors);
                foreach (var victim in victims)
                {
                    Evict(victim, workload);
                    ledger.Add(victim, -1);
                    admitted.Remove(victim);
                }

                if (victims.Count > 0)
                {
                    assignment = FlavorAssigner.Assign(queue, ledger, workload, snapshot.Flavors);
                }
            }

            if (assignment.Fits)
            {
                Admit(workload, queue, assignment);
                var admittedNow = new WorkloadInfo(WithAdmission(workload.Object, queue, assignment), workload.Sequence);
                ledger.Add(admittedNow);
                admitted.Add(admittedNow);
                continue;
            }

            SetPending(workload, KueueNames.PendingReason, assignment.Message!);
            if (queue.StrictFifo)
            {
                // the head of a StrictFIFO queue blocks everything behind it
                break;
            }
        }
    }

    private static JsonObject WithAdmission(JsonObject workload, ClusterQueueInfo queue, FlavorAssignment assignment)
    {
        var copy = workload.DeepClone().AsObject();
        copy.Obj("status")["admission"] = new JsonObject { ["clusterQueue"] = queue.Name, ["podSetAssignments"] = assignment.Assignments.DeepClone() };
        return copy;
    }

    private void Admit(WorkloadInfo workload, ClusterQueueInfo queue, FlavorAssignment assignment)
    {
        var now = time.GetUtcNow();
        var admitted = ObjectWriter.Update(store, ResourceType.Workloads, workload.Object, w =>
        {
            var status = w.Obj("status");
            status["admission"] = new JsonObject { ["clusterQueue"] = queue.Name, ["podSetAssignments"] = assignment.Assignments.DeepClone() };
            Conditions.Set(w, KueueNames.QuotaReserved, "True", "QuotaReserved", $"Quota reserved in ClusterQueue {queue.Name}", now);
            Conditions.Set(w, KueueNames.Admitted, "True", "Admitted", "The workload is admitted", now);
            // a readmitted victim keeps its eviction history in the message, as Kueue does
            foreach (var type in new[] { KueueNames.Evicted, KueueNames.Preempted })
            {
                if (w.ConditionIsTrue(type))
                {
                    Conditions.Set(w, type, "False", "QuotaReserved", "Previously: " + w.Condition(type).Str("message"), now);
                }
            }
        });
        if (admitted)
        {
            var queuedFor = WorkloadBuilder.WaitTime(now - workload.CreationTime);
            events.Record(workload.Object, "Normal", "QuotaReserved", $"Quota reserved in ClusterQueue {queue.Name}, wait time since queued was {queuedFor}");
            events.Record(workload.Object, "Normal", "Admitted", $"Admitted by ClusterQueue {queue.Name}, wait time since reservation was 0s");
        }
    }

    private void SetPending(WorkloadInfo workload, string reason, string message)
    {
        var changed = ObjectWriter.Update(store, ResourceType.Workloads, workload.Object, w =>
            Conditions.Set(w, KueueNames.QuotaReserved, "False", reason, message, time.GetUtcNow()));
        if (changed)
        {
            events.Record(workload.Object, "Normal", "Pending", message);
        }
    }

    /// <summary>
    /// Evicts a victim at once (Kueue's preemption plus the job reconciler's stop, in one write): Evicted and Preempted
    /// True, quota released (<c>status.admission</c> cleared, QuotaReserved and Admitted False), one more eviction counted
    /// in <c>status.schedulingStats</c>. The Job is suspended by the next Job pass; the victim is queued again.
    /// </summary>
    private void Evict(WorkloadInfo victim, WorkloadInfo preemptor)
    {
        var message = PreemptionMessage(preemptor);
        var now = time.GetUtcNow();
        var evicted = ObjectWriter.Update(store, ResourceType.Workloads, victim.Object, w =>
        {
            var status = w.Obj("status");
            status.Remove("admission");
            Conditions.Set(w, KueueNames.Evicted, "True", "Preempted", message, now);
            Conditions.Set(w, KueueNames.Preempted, "True", "InClusterQueue", message, now);
            Conditions.Set(w, KueueNames.QuotaReserved, "False", KueueNames.PendingReason, message, now);
            Conditions.Set(w, KueueNames.Admitted, "False", "NoReservation", "The workload has no reservation", now);
            CountEviction(status);
        });
        if (evicted)
        {
            events.Record(victim.Object, "Normal", "Preempted", message);
            events.Record(victim.Object, "Normal", "EvictedDueToPreempted", message);
        }
    }

    private static void CountEviction(JsonObject status)
    {
        var stats = status.Obj("schedulingStats");
        if (stats["evictions"] is not JsonArray evictions)
        {
            evictions = [];
            stats["evictions"] = evictions;
        }

        var entry = evictions.Objects().FirstOrDefault(e => e.Str("reason") == "Preempted" && (e.Str("underlyingCause") ?? "") == "");
        if (entry is null)
        {
            evictions.Add(new JsonObject { ["reason"] = "Preempted", ["underlyingCause"] = "", ["count"] = 1 });
        }
        else
        {
            entry["count"] = (entry.Long("count") ?? 0) + 1;
        }
    }
}
