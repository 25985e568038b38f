using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Controllers;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Controllers;

public class JobSyncPlannerTests
{
    private static readonly DateTimeOffset Now = new(2026, 4, 26, 18, 35, 42, TimeSpan.Zero);
    private static int _uid;

    private static JsonObject Job(JsonObject? spec = null, JsonObject? status = null)
    {
        spec ??= [];
        spec["template"] ??= new JsonObject
        {
            ["spec"] = new JsonObject
            {
                ["restartPolicy"] = "Never",
                ["containers"] = new JsonArray(new JsonObject { ["name"] = "trainer", ["image"] = "trainer:1" }),
            },
        };
        return new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = "train", ["namespace"] = "ml", ["uid"] = "job-uid" },
            ["spec"] = spec,
            ["status"] = status ?? [],
        };
    }

    private static JsonObject Pod(string phase, int? exitCode = null, bool finalizer = true, bool deleting = false, int? index = null, string container = "trainer")
    {
        var metadata = new JsonObject { ["name"] = $"train-{_uid}", ["namespace"] = "ml", ["uid"] = $"pod-{Interlocked.Increment(ref _uid)}" };
        if (finalizer)
        {
            metadata["finalizers"] = new JsonArray("batch.kubernetes.io/job-tracking");
        }

        if (deleting)
        {
            metadata["deletionTimestamp"] = "2026-04-26T18:35:40Z";
        }

        if (index is { } i)
        {
            metadata["annotations"] = new JsonObject { ["batch.kubernetes.io/job-completion-index"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        }

        var status = new JsonObject { ["phase"] = phase };
        if (exitCode is { } code)
        {
            status["containerStatuses"] = new JsonArray(new JsonObject
            {
                ["name"] = container,
                ["state"] = new JsonObject { ["terminated"] = new JsonObject { ["exitCode"] = code, ["finishedAt"] = "2026-04-26T18:35:00Z" } },
            });
        }

        return new JsonObject { ["metadata"] = metadata, ["status"] = status };
    }

    private static JobSyncPlan Plan(JsonObject job, params JsonObject[] pods) => JobSyncPlanner.Plan(job, pods, Now, TimeSpan.Zero);

    private static JsonObject? Condition(JsonObject status, string type) =>
        (status["conditions"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(c => (string?)c["type"] == type);

    [Fact]
    public void A_new_job_gets_one_pod_a_start_time_and_the_counters_of_current_servers()
    {
        var plan = Plan(Job());

        plan.PodsToCreate.Should().Equal([null]);
        var status = plan.FinalStatus;
        ((string?)status["startTime"]).Should().Be("2026-04-26T18:35:42Z");
        ((int?)status["active"]).Should().Be(1);
        ((int?)status["ready"]).Should().Be(0);
        ((int?)status["terminating"]).Should().Be(0);
        status["succeeded"].Should().BeNull("0 is omitted");
        status["uncountedTerminatedPods"]!.ToJsonString().Should().Be("{}");
        status["conditions"].Should().BeNull();
    }

    [Fact]
    public void Parallelism_and_completions_bound_the_pods_created()
    {
        Plan(Job(new JsonObject { ["parallelism"] = 3, ["completions"] = 5 })).PodsToCreate.Should().HaveCount(3);
        Plan(Job(new JsonObject { ["parallelism"] = 3, ["completions"] = 5 }, new JsonObject { ["succeeded"] = 4 })).PodsToCreate.Should().HaveCount(1);
    }

    [Fact]
    public void A_succeeded_pod_is_counted_through_uncounted_then_the_job_completes_in_two_phases()
    {
        var pod = Pod("Succeeded", exitCode: 0);
        var plan = Plan(Job(status: new JsonObject { ["startTime"] = "2026-04-26T18:35:00Z", ["active"] = 1 }), pod);

        plan.PodsToCreate.Should().BeEmpty();
        plan.PodsToRemoveFinalizer.Should().ContainSingle();
        var interim = plan.InterimStatus!;
        interim["uncountedTerminatedPods"]!["succeeded"]!.AsArray().Select(n => (string?)n).Should().Equal(pod["metadata"]!["uid"]!.GetValue<string>());
        Condition(interim, "SuccessCriteriaMet").Should().NotBeNull();
        Condition(interim, "Complete").Should().BeNull();

        var final = plan.FinalStatus;
        ((int?)final["succeeded"]).Should().Be(1);
        final["active"].Should().BeNull();
        final["uncountedTerminatedPods"]!.ToJsonString().Should().Be("{}");
        final["completionTime"]!.GetValue<string>().Should().Be("2026-04-26T18:35:42Z");
        var met = Condition(final, "SuccessCriteriaMet")!;
        ((string?)met["reason"]).Should().Be("CompletionsReached");
        ((string?)met["message"]).Should().Be("Reached expected number of succeeded pods");
        var complete = Condition(final, "Complete")!;
        ((string?)complete["status"]).Should().Be("True");
        ((string?)complete["reason"]).Should().Be("CompletionsReached");
        ((string?)complete["lastProbeTime"]).Should().Be("2026-04-26T18:35:42Z");
        ((string?)complete["lastTransitionTime"]).Should().Be("2026-04-26T18:35:42Z");
    }

    [Fact]
    public void Failures_beyond_the_backoff_limit_fail_the_job_without_a_completion_time()
    {
        var job = Job(new JsonObject { ["backoffLimit"] = 1 }, new JsonObject { ["startTime"] = "2026-04-26T18:35:00Z", ["failed"] = 1 });
        var plan = Plan(job, Pod("Failed", exitCode: 1, finalizer: false), Pod("Failed", exitCode: 1));

        plan.PodsToCreate.Should().BeEmpty();
        var final = plan.FinalStatus;
        ((int?)final["failed"]).Should().Be(2);
        final["completionTime"].Should().BeNull();
        var target = Condition(final, "FailureTarget")!;
        ((string?)target["reason"]).Should().Be("BackoffLimitExceeded");
        ((string?)target["message"]).Should().Be("Job has reached the specified backoff limit");
        var failed = Condition(final, "Failed")!;
        ((string?)failed["reason"]).Should().Be("BackoffLimitExceeded");
    }

    [Fact]
    public void A_failure_within_the_backoff_limit_gets_a_replacement_pod_after_the_back_off()
    {
        var job = Job(new JsonObject { ["backoffLimit"] = 1 }, new JsonObject { ["startTime"] = "2026-04-26T18:35:00Z", ["active"] = 1 });
        var failedPod = Pod("Failed", exitCode: 1);

        var withoutBackoff = Plan(job, failedPod);
        withoutBackoff.PodsToCreate.Should().ContainSingle();
        ((int?)withoutBackoff.FinalStatus["failed"]).Should().Be(1);
        Condition(withoutBackoff.FinalStatus, "FailureTarget").Should().BeNull();

        var withBackoff = JobSyncPlanner.Plan(job, [failedPod], Now, TimeSpan.FromMinutes(1));
        withBackoff.PodsToCreate.Should().BeEmpty("the failure at 18:35:00 is followed by a 1 minute back-off");
        withBackoff.RequeueAfter.Should().Be(TimeSpan.FromSeconds(18));
    }

    [Fact]
    public void The_failed_condition_waits_until_no_pod_is_terminating()
    {
        var job = Job(new JsonObject { ["backoffLimit"] = 0, ["parallelism"] = 2 }, new JsonObject { ["startTime"] = "2026-04-26T18:35:00Z", ["active"] = 2 });
        var running = Pod("Running");
        var plan = Plan(job, Pod("Failed", exitCode: 1), running);

        plan.PodsToDelete.Should().ContainSingle().Which.Should().BeSameAs(running);
        ((int?)plan.FinalStatus["terminating"]).Should().Be(1);
        Condition(plan.FinalStatus, "FailureTarget").Should().NotBeNull();
        Condition(plan.FinalStatus, "Failed").Should().BeNull();

        // next sync: the FailureTarget is stored, the deleted pod has stopped
        var next = Job(new JsonObject { ["backoffLimit"] = 0, ["parallelism"] = 2 }, plan.FinalStatus);
        var stopped = Pod("Failed", exitCode: 143, finalizer: false, deleting: true);
        var done = Plan(next, stopped);
        Condition(done.FinalStatus, "Failed").Should().NotBeNull();
        ((int?)done.FinalStatus["terminating"]).Should().Be(0);
        done.FinalStatus["active"].Should().BeNull();
    }

    [Fact]
    public void A_fail_job_rule_on_an_exit_code_fails_the_job_with_the_rule_in_the_message()
    {
        var policy = new JsonObject
        {
            ["rules"] = new JsonArray(
                new JsonObject { ["action"] = "Ignore", ["onPodConditions"] = new JsonArray(new JsonObject { ["type"] = "DisruptionTarget" }) },
                new JsonObject { ["action"] = "FailJob", ["onExitCodes"] = new JsonObject { ["containerName"] = "trainer", ["operator"] = "In", ["values"] = new JsonArray(2) } }),
        };
        var pod = Pod("Failed", exitCode: 2);
        var plan = Plan(Job(new JsonObject { ["podFailurePolicy"] = policy, ["backoffLimit"] = 6 }, new JsonObject { ["startTime"] = "2026-04-26T18:35:00Z" }), pod);

        var target = Condition(plan.FinalStatus, "FailureTarget")!;
        ((string?)target["reason"]).Should().Be("PodFailurePolicy");
        ((string?)target["message"]).Should().Be($"Container trainer for pod ml/{pod["metadata"]!["name"]} failed with exit code 2 matching FailJob rule at index 1");
        Condition(plan.FinalStatus, "Failed").Should().NotBeNull();
        plan.PodsToCreate.Should().BeEmpty();
    }

    [Fact]
    public void An_ignore_rule_on_disruption_does_not_count_the_failure()
    {
        var policy = new JsonObject
        {
            ["rules"] = new JsonArray(new JsonObject { ["action"] = "Ignore", ["onPodConditions"] = new JsonArray(new JsonObject { ["type"] = "DisruptionTarget", ["status"] = "True" }) }),
        };
        var pod = Pod("Failed", exitCode: 143);
        pod["status"]!["conditions"] = new JsonArray(new JsonObject { ["type"] = "DisruptionTarget", ["status"] = "True" });
        var plan = Plan(Job(new JsonObject { ["podFailurePolicy"] = policy, ["backoffLimit"] = 0 }, new JsonObject { ["startTime"] = "2026-04-26T18:35:00Z" }), pod);

        plan.FinalStatus["failed"].Should().BeNull();
        plan.PodsToRemoveFinalizer.Should().ContainSingle();
        plan.PodsToCreate.Should().ContainSingle("the disrupted pod is replaced");
        Condition(plan.FinalStatus, "FailureTarget").Should().BeNull();
    }

    [Fact]
    public void Count_rules_and_not_in_operators_follow_the_upstream_matcher()
    {
        var policy = new JsonObject
        {
            ["rules"] = new JsonArray(
                new JsonObject { ["action"] = "Count", ["onExitCodes"] = new JsonObject { ["operator"] = "In", ["values"] = new JsonArray(1) } },
                new JsonObject { ["action"] = "FailJob", ["onExitCodes"] = new JsonObject { ["operator"] = "NotIn", ["values"] = new JsonArray(1, 143) } }),
        };
        PodFailurePolicyMatcher.Match(policy, Pod("Failed", exitCode: 1)).Should().Be(new PodFailurePolicyMatch(null, true, "Count"));
        PodFailurePolicyMatcher.Match(policy, Pod("Failed", exitCode: 143)).Action.Should().BeNull();
        PodFailurePolicyMatcher.Match(policy, Pod("Failed", exitCode: 3)).FailJobMessage.Should().Contain("exit code 3 matching FailJob rule at index 1");
        PodFailurePolicyMatcher.Match(policy, Pod("Failed", exitCode: 3, container: "sidecar")).Action.Should().Be("FailJob");
    }

    [Fact]
    public void Passing_the_active_deadline_deletes_active_pods_with_deadline_exceeded()
    {
        var job = Job(new JsonObject { ["activeDeadlineSeconds"] = 30 }, new JsonObject { ["startTime"] = "2026-04-26T18:35:00Z", ["active"] = 1 });
        var running = Pod("Running");
        var plan = Plan(job, running);

        plan.PodsToDelete.Should().ContainSingle();
        var target = Condition(plan.FinalStatus, "FailureTarget")!;
        ((string?)target["reason"]).Should().Be("DeadlineExceeded");
        ((string?)target["message"]).Should().Be("Job was active longer than specified deadline");

        var early = Plan(Job(new JsonObject { ["activeDeadlineSeconds"] = 60 }, new JsonObject { ["startTime"] = "2026-04-26T18:35:00Z", ["active"] = 1 }), running);
        early.PodsToDelete.Should().BeEmpty();
        early.RequeueAfter.Should().Be(TimeSpan.FromSeconds(18));
    }

    [Fact]
    public void A_suspended_job_deletes_its_pods_and_says_so_and_resuming_resets_the_start_time()
    {
        var running = Pod("Running");
        var suspended = Plan(Job(new JsonObject { ["suspend"] = true }, new JsonObject { ["startTime"] = "2026-04-26T18:00:00Z", ["active"] = 1 }), running);

        suspended.PodsToReleaseAndDelete.Should().ContainSingle("suspension deletes pods without counting them");
        suspended.PodsToDelete.Should().BeEmpty();
        suspended.PodsToCreate.Should().BeEmpty();
        var condition = Condition(suspended.FinalStatus, "Suspended")!;
        ((string?)condition["status"]).Should().Be("True");
        ((string?)condition["reason"]).Should().Be("JobSuspended");
        ((string?)condition["message"]).Should().Be("Job suspended");

        var resumed = Plan(Job(new JsonObject { ["suspend"] = false }, suspended.FinalStatus));
        var resumedCondition = Condition(resumed.FinalStatus, "Suspended")!;
        ((string?)resumedCondition["status"]).Should().Be("False");
        ((string?)resumedCondition["reason"]).Should().Be("JobResumed");
        ((string?)resumed.FinalStatus["startTime"]).Should().Be("2026-04-26T18:35:42Z");
        resumed.PodsToCreate.Should().ContainSingle();
    }

    [Fact]
    public void A_job_created_suspended_has_no_start_time()
    {
        var plan = Plan(Job(new JsonObject { ["suspend"] = true }));

        plan.FinalStatus["startTime"].Should().BeNull();
        plan.PodsToCreate.Should().BeEmpty();
    }

    [Fact]
    public void Indexed_jobs_create_missing_indexes_and_record_completed_indexes()
    {
        var spec = new JsonObject { ["completionMode"] = "Indexed", ["completions"] = 4, ["parallelism"] = 2 };
        var plan = Plan(Job(spec, new JsonObject { ["startTime"] = "2026-04-26T18:35:00Z" }), Pod("Succeeded", exitCode: 0, index: 1), Pod("Running", index: 0));

        plan.PodsToCreate.Should().Equal([2]);
        ((string?)plan.FinalStatus["completedIndexes"]).Should().Be("1");
        ((int?)plan.FinalStatus["succeeded"]).Should().Be(1);
    }

    [Fact]
    public void Backoff_limit_per_index_fails_an_index_and_then_the_job()
    {
        var spec = new JsonObject { ["completionMode"] = "Indexed", ["completions"] = 2, ["parallelism"] = 2, ["backoffLimitPerIndex"] = 0 };
        var plan = Plan(Job(spec, new JsonObject { ["startTime"] = "2026-04-26T18:35:00Z" }), Pod("Failed", exitCode: 1, index: 0), Pod("Succeeded", exitCode: 0, index: 1));

        ((string?)plan.FinalStatus["failedIndexes"]).Should().Be("0");
        var target = Condition(plan.FinalStatus, "FailureTarget")!;
        ((string?)target["reason"]).Should().Be("FailedIndexes");
        ((string?)target["message"]).Should().Be("Job has failed indexes");
    }

    [Fact]
    public void A_success_policy_marks_success_criteria_met_and_deletes_the_other_ranks_without_failing_them()
    {
        var spec = new JsonObject
        {
            ["completionMode"] = "Indexed",
            ["completions"] = 3,
            ["parallelism"] = 3,
            ["successPolicy"] = new JsonObject
            {
                ["rules"] = new JsonArray(
                    new JsonObject { ["succeededIndexes"] = "5-6" },
                    new JsonObject { ["succeededIndexes"] = "0" }),
            },
        };
        var running = Pod("Running", index: 1);
        var plan = Plan(Job(spec, new JsonObject { ["startTime"] = "2026-04-26T18:35:00Z" }), Pod("Succeeded", exitCode: 0, index: 0), running);

        plan.PodsToCreate.Should().BeEmpty();
        plan.PodsToDelete.Should().Equal(running);
        // out-of-range indexes make the first rule empty: it is skipped, the second one matches
        var met = Condition(plan.InterimStatus!, "SuccessCriteriaMet")!;
        ((string?)met["reason"]).Should().Be("SuccessPolicy");
        ((string?)met["message"]).Should().Be("Matched rules at index 1");
        Condition(plan.FinalStatus, "Complete").Should().BeNull("the deleted rank is still terminating");
        ((int?)plan.FinalStatus["failed"]).Should().BeNull();
        ((string?)plan.FinalStatus["completedIndexes"]).Should().Be("0");
    }

    [Fact]
    public void A_success_policy_that_is_not_met_leaves_the_job_running()
    {
        var spec = new JsonObject
        {
            ["completionMode"] = "Indexed",
            ["completions"] = 3,
            ["parallelism"] = 3,
            ["successPolicy"] = new JsonObject { ["rules"] = new JsonArray(new JsonObject { ["succeededIndexes"] = "0-2", ["succeededCount"] = 2 }) },
        };
        var plan = Plan(Job(spec, new JsonObject { ["startTime"] = "2026-04-26T18:35:00Z" }), Pod("Succeeded", exitCode: 0, index: 2), Pod("Running", index: 0), Pod("Running", index: 1));

        plan.PodsToDelete.Should().BeEmpty();
        Condition(plan.FinalStatus, "SuccessCriteriaMet").Should().BeNull();
        ((int?)plan.FinalStatus["active"]).Should().Be(2);
    }

    [Fact]
    public void A_finished_job_only_releases_leftover_finalizers()
    {
        var status = new JsonObject { ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Complete", ["status"] = "True" }) };
        var plan = Plan(Job(status: status), Pod("Running"));

        plan.PodsToCreate.Should().BeEmpty();
        plan.PodsToDelete.Should().BeEmpty();
        plan.PodsToRemoveFinalizer.Should().ContainSingle();
        JsonNode.DeepEquals(plan.FinalStatus, status).Should().BeTrue();
    }
}
