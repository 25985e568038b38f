using k8s;
using k8s.Models;

namespace VisionPlatform.Training.Kubernetes.Tests.Kueue;

/// <summary>Statuses of queued runs, from Workload JSON in the shapes Kueue v1beta1 writes.</summary>
public class KueueStatusMappingTests
{
    private const string JobUid = "6f1c1a52-3c1e-4b8e-9a57-0d6c1f0e2a11";
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 16, 0, 0, TimeSpan.Zero);

    private static readonly TrainingRun Run = new(KubernetesExecutorInfo.ExecutorName, "job-42", "training/training-job-job-42");

    [Fact]
    public void A_suspended_never_admitted_run_is_Queued_with_the_ClusterQueue_message_and_its_position()
    {
        var job = QueuedJob(Workload("""
            "conditions": [
              { "type": "QuotaReserved", "status": "False", "reason": "Pending", "message": "couldn't assign flavors to pod set main: insufficient quota for nvidia.com/gpu in flavor a100, request > maximum capacity (4 > 2)", "lastTransitionTime": "2026-12-07T15:59:00Z" }
            ]
            """), position: 3);

        var status = Map(job);

        status.Phase.Should().Be(TrainingPhase.Pending);
        status.Reason.Should().Be(TrainingStatusReasons.Queued);
        status.Message.Should().Be("couldn't assign flavors to pod set main: insufficient quota for nvidia.com/gpu in flavor a100, request > maximum capacity (4 > 2); position 3 in queue team-a");
    }

    [Fact]
    public void Without_a_Workload_or_a_position_the_run_is_still_Queued()
    {
        Map(QueuedJob(workload: null)).Should().Match<TrainingRunStatus>(s =>
            s.Reason == TrainingStatusReasons.Queued && s.Message == "Queued in LocalQueue team-a: waiting for Kueue to admit the run.");
        Map(QueuedJob(Workload("\"conditions\": []"))).Message.Should().Be("waiting for quota", "no position is known (403 on the visibility API)");
    }

    [Fact]
    public void An_admitted_run_maps_as_any_Job()
    {
        var job = QueuedJob(Workload("""
            "conditions": [
              { "type": "QuotaReserved", "status": "True", "reason": "QuotaReserved", "message": "Quota reserved in ClusterQueue cluster-gpu", "lastTransitionTime": "2026-12-07T15:59:00Z" },
              { "type": "Admitted", "status": "True", "reason": "Admitted", "message": "The workload is admitted", "lastTransitionTime": "2026-12-07T15:59:00Z" }
            ]
            """), suspend: false);

        Map(job).Reason.Should().Be(TrainingStatusReasons.Starting);
    }

    [Fact]
    public void A_preempted_run_is_Pending_Preempted_with_the_count_and_budget()
    {
        var job = QueuedJob(Workload("""
            "conditions": [
              { "type": "QuotaReserved", "status": "False", "reason": "Pending", "message": "couldn't assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in flavor a100, 4 more needed", "lastTransitionTime": "2026-12-07T15:59:30Z" },
              { "type": "Evicted", "status": "True", "reason": "Preempted", "message": "Preempted to accommodate a workload (UID: 1234) due to prioritization in the ClusterQueue", "lastTransitionTime": "2026-12-07T15:59:20Z" },
              { "type": "Preempted", "status": "True", "reason": "InClusterQueue", "message": "Preempted to accommodate a workload (UID: 1234) due to prioritization in the ClusterQueue", "lastTransitionTime": "2026-12-07T15:59:20Z" },
              { "type": "Requeued", "status": "True", "reason": "Preempted", "message": "Preempted to accommodate a workload (UID: 1234) due to prioritization in the ClusterQueue", "lastTransitionTime": "2026-12-07T15:59:20Z" }
            ],
            "schedulingStats": { "evictions": [ { "reason": "Preempted", "underlyingCause": "InClusterQueue", "count": 2 }, { "reason": "PodsReadyTimeout", "underlyingCause": "", "count": 1 } ] }
            """));

        var status = Map(job);

        status.Phase.Should().Be(TrainingPhase.Pending);
        status.Reason.Should().Be(TrainingStatusReasons.Preempted);
        status.Message.Should().StartWith("The run was preempted (Preempted to accommodate a workload (UID: 1234) due to prioritization in the ClusterQueue): preemption 2 of the 10 allowed; waiting to be admitted again in queue team-a: couldn't assign flavors");
    }

    [Fact]
    public void An_eviction_for_another_reason_is_Pending_Evicted()
    {
        var job = QueuedJob(Workload("""
            "conditions": [
              { "type": "Evicted", "status": "True", "reason": "PodsReadyTimeout", "message": "Exceeded the PodsReady timeout default/job", "lastTransitionTime": "2026-12-07T15:59:20Z" }
            ],
            "schedulingStats": { "evictions": [ { "reason": "PodsReadyTimeout", "underlyingCause": "", "count": 1 } ] }
            """));

        var status = Map(job);

        status.Reason.Should().Be(TrainingStatusReasons.Evicted);
        status.Message.Should().Contain("evicted by Kueue (PodsReadyTimeout)");
    }

    [Fact]
    public void More_preemptions_than_allowed_fail_the_run_before_and_after_the_record()
    {
        var workload = Workload("""
            "conditions": [ { "type": "Evicted", "status": "True", "reason": "Preempted", "message": "Preempted", "lastTransitionTime": "2026-12-07T15:59:20Z" } ],
            "schedulingStats": { "evictions": [ { "reason": "Preempted", "underlyingCause": "InCohortReclamation", "count": 2 }, { "reason": "Preempted", "underlyingCause": "InClusterQueue", "count": 2 } ] }
            """);
        var options = Options(max: 3);

        var before = Map(QueuedJob(workload), options);
        var recorded = Map(QueuedJob(workload, stopReason: TrainingStatusReasons.PreemptionBudgetExhausted), options);
        var recordedElsewhere = Map(QueuedJob(workload: null, stopReason: TrainingStatusReasons.PreemptionBudgetExhausted), options);

        before.Phase.Should().Be(TrainingPhase.Failed);
        before.Reason.Should().Be(TrainingStatusReasons.PreemptionBudgetExhausted);
        before.Message.Should().StartWith("The run was preempted 4 times, more than the 3 allowed (Training:Kubernetes:Kueue:MaxPreemptions)");
        KueueStatus.NeedsEnforcement(QueuedJob(workload), options).Should().BeTrue();
        recorded.Phase.Should().Be(TrainingPhase.Failed);
        recorded.FinishedAt.Should().Be(new DateTimeOffset(2026, 12, 7, 15, 59, 40, TimeSpan.Zero), "the recorded time, the same on every host");
        KueueStatus.NeedsEnforcement(QueuedJob(workload, stopReason: TrainingStatusReasons.PreemptionBudgetExhausted), options).Should().BeFalse();
        recordedElsewhere.Reason.Should().Be(TrainingStatusReasons.PreemptionBudgetExhausted, "a host without the Workload reads the record on the Job");
        Map(QueuedJob(workload), Options(max: 4)).Reason.Should().Be(TrainingStatusReasons.Preempted, "4 preemptions are within a budget of 4");
    }

    [Fact]
    public void A_deactivated_Workload_is_Suspended()
    {
        var job = QueuedJob(Workload("\"conditions\": []", active: false));

        Map(job).Reason.Should().Be(TrainingStatusReasons.Suspended);
    }

    [Fact]
    public void A_Workload_of_another_Job_is_ignored()
    {
        var job = QueuedJob(Workload("\"conditions\": [ { \"type\": \"Evicted\", \"status\": \"True\", \"reason\": \"Preempted\", \"message\": \"x\", \"lastTransitionTime\": \"2026-12-07T15:59:20Z\" } ]", ownerUid: "00000000-0000-0000-0000-000000000001"));

        Map(job).Reason.Should().Be(TrainingStatusReasons.Queued);
    }

    private static KubernetesExecutorOptions Options(int max = 10) => new() { Kueue = { QueueName = "team-a", MaxPreemptions = max } };

    private static TrainingRunStatus Map(CachedJob job, KubernetesExecutorOptions? options = null) =>
        KubernetesStatusMapper.Map(job, [], Now, options ?? Options());

    private static KueueWorkload Workload(string status, bool active = true, string ownerUid = JobUid) =>
        KubernetesJson.Deserialize<KueueWorkload>($$"""
            {
              "apiVersion": "kueue.x-k8s.io/v1beta1",
              "kind": "Workload",
              "metadata": {
                "name": "job-training-job-job-42-5c7a1",
                "namespace": "training",
                "labels": { "kueue.x-k8s.io/job-uid": "{{ownerUid}}" },
                "ownerReferences": [ { "apiVersion": "batch/v1", "kind": "Job", "name": "training-job-job-42", "uid": "{{ownerUid}}", "controller": true, "blockOwnerDeletion": true } ]
              },
              "spec": {
                "active": {{(active ? "true" : "false")}},
                "queueName": "team-a",
                "podSets": [ { "name": "main", "count": 1, "template": { "spec": { "containers": [ { "name": "trainer", "image": "x" } ] } } } ]
              },
              "status": { {{status}} }
            }
            """);

    private static CachedJob QueuedJob(KueueWorkload? workload, bool suspend = true, int? position = null, string? stopReason = null)
    {
        var job = new V1Job
        {
            Metadata = new V1ObjectMeta
            {
                Name = "training-job-job-42",
                NamespaceProperty = "training",
                Uid = JobUid,
                CreationTimestamp = new DateTime(2026, 12, 7, 15, 58, 0, DateTimeKind.Utc),
                Labels = new Dictionary<string, string> { [KubernetesLabels.KueueQueueName] = "team-a" },
                Annotations = new Dictionary<string, string> { [KubernetesLabels.JobIdAnnotation] = "job-42" },
            },
            Spec = new V1JobSpec { Suspend = suspend, Template = new V1PodTemplateSpec { Spec = new V1PodSpec { Containers = [new V1Container { Name = "trainer" }] } } },
            Status = new V1JobStatus(),
        };
        if (stopReason is not null)
        {
            job.Metadata.Annotations[KubernetesLabels.StopRequestedAnnotation] = "2026-12-07T15:59:40Z";
            job.Metadata.Annotations[KubernetesLabels.StopReasonAnnotation] = stopReason;
        }

        var record = CachedJob.From(job, Run, "nvidia.com/gpu");
        record.Workload = workload is null ? null : CachedWorkload.From(workload);
        record.QueuePosition = position;
        return record;
    }
}
