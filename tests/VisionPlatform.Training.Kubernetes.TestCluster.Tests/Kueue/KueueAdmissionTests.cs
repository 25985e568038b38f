using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using k8s;
using static VisionPlatform.Training.Kubernetes.TestCluster.Tests.Kueue.KueueEnvironment;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Kueue;

/// <summary>
/// Kueue's Job integration end to end: a queued Job is created suspended with a Workload, waits with Kueue's pending
/// message while its ClusterQueue's quota is in use, and is admitted (unsuspended, flavor node labels injected, pods
/// running) once the quota frees; wrong queue names leave it inadmissible with the documented messages.
/// </summary>
public sealed partial class KueueAdmissionTests
{
    [Fact]
    public async Task A_queued_job_waits_suspended_with_the_pending_message_and_is_admitted_when_quota_frees()
    {
        await using var env = await StartAsync();
        var ns = await env.NewNamespaceAsync();
        var clusterQueue = await env.CreateQueuesAsync(ns, "team", cpu: "1", nodeLabels: new JsonObject { ["kubernetes.io/hostname"] = "node-1" });

        await env.Client.BatchV1.CreateNamespacedJobAsync(Job("first", "team"), ns);
        var firstRunning = await EventuallyAsync(() => env.PodsOfAsync(ns, "first"), p => p.Any(x => x.Status?.Phase == "Running"), "first's pod runs");
        firstRunning.Single().Spec.NodeSelector.Should().Contain("kubernetes.io/hostname", "node-1", "the flavor's node labels go into the pod template");
        await env.Client.BatchV1.CreateNamespacedJobAsync(Job("second", "team"), ns);
        await env.Client.BatchV1.CreateNamespacedJobAsync(Job("plain", queue: null, seconds: 1), ns);

        var pending = await env.WaitForWorkloadAsync(ns, "second", w => Condition(w, "QuotaReserved")?["reason"]?.GetValue<string>() == "Pending", "second is pending");
        Condition(pending, "QuotaReserved")!["status"]!.GetValue<string>().Should().Be("False");
        Condition(pending, "QuotaReserved")!["message"]!.GetValue<string>().Should().Be(
            $"couldn't assign flavors to pod set main: insufficient unused quota for cpu in flavor flavor-{ns}, 1 more needed");
        var second = await env.Client.BatchV1.ReadNamespacedJobAsync("second", ns);
        second.Spec.Suspend.Should().BeTrue("Kueue's webhook creates queued Jobs suspended");
        (await env.PodsOfAsync(ns, "second")).Should().BeEmpty();

        // the Workload as Kueue's job reconciler makes it
        WorkloadNameRegex().IsMatch(pending["metadata"]!["name"]!.GetValue<string>()).Should().BeTrue(pending["metadata"]!["name"]!.ToString());
        var owner = pending["metadata"]!["ownerReferences"]![0]!;
        owner["kind"]!.GetValue<string>().Should().Be("Job");
        owner["name"]!.GetValue<string>().Should().Be("second");
        owner["uid"]!.GetValue<string>().Should().Be(second.Metadata.Uid);
        owner["controller"]!.GetValue<bool>().Should().BeTrue();
        pending["spec"]!["queueName"]!.GetValue<string>().Should().Be("team");
        pending["spec"]!["priority"]!.GetValue<long>().Should().Be(0);
        pending["spec"]!["podSets"]![0]!["name"]!.GetValue<string>().Should().Be("main");
        pending["spec"]!["podSets"]![0]!["count"]!.GetValue<long>().Should().Be(1);

        var queueStatus = await EventuallyAsync(() => env.GetClusterAsync("clusterqueues", clusterQueue),
            q => q["status"]?["pendingWorkloads"]?.GetValue<long>() == 1 && q["status"]?["admittedWorkloads"]?.GetValue<long>() == 1, "the ClusterQueue counts");
        queueStatus["status"]!["flavorsUsage"]![0]!["resources"]![0]!["total"]!.GetValue<string>().Should().Be("1");
        await EventuallyAsync(() => env.GetAsync(ns, "localqueues", "team"),
            q => q["status"]?["pendingWorkloads"]?.GetValue<long>() == 1 && q["status"]?["admittedWorkloads"]?.GetValue<long>() == 1, "the LocalQueue counts");

        // a Job without the queue label is not Kueue's business
        (await env.Client.BatchV1.ReadNamespacedJobAsync("plain", ns)).Spec.Suspend.Should().NotBe(true);
        (await env.WorkloadOfAsync(ns, "plain")).Should().BeNull();

        await env.Client.BatchV1.DeleteNamespacedJobAsync("first", ns, propagationPolicy: "Background");
        var admitted = await env.WaitForWorkloadAsync(ns, "second", w => ConditionIs(w, "Admitted", "True"), "second is admitted");
        admitted["status"]!["admission"]!["clusterQueue"]!.GetValue<string>().Should().Be(clusterQueue);
        admitted["status"]!["admission"]!["podSetAssignments"]![0]!["flavors"]!["cpu"]!.GetValue<string>().Should().Be($"flavor-{ns}");
        admitted["status"]!["admission"]!["podSetAssignments"]![0]!["resourceUsage"]!["cpu"]!.GetValue<string>().Should().Be("1");
        Condition(admitted, "QuotaReserved")!["reason"]!.GetValue<string>().Should().Be("QuotaReserved");
        await EventuallyAsync(() => env.PodsOfAsync(ns, "second"), p => p.Any(x => x.Status?.Phase == "Running"), "second's pod runs");
        (await env.Client.BatchV1.ReadNamespacedJobAsync("second", ns)).Spec.Suspend.Should().BeFalse();

        var events = await env.Client.CoreV1.ListNamespacedEventAsync(ns);
        events.Items.Should().Contain(e => e.InvolvedObject.Name == "second" && e.Reason == "CreatedWorkload");
        events.Items.Should().Contain(e => e.InvolvedObject.Name == "second" && e.Reason == "Started" && e.Message == $"Admitted by clusterQueue {clusterQueue}");
        events.Items.Should().Contain(e => e.InvolvedObject.Kind == "Workload" && e.Reason == "Admitted");
        await env.Client.BatchV1.DeleteNamespacedJobAsync("second", ns, propagationPolicy: "Background");
        await EventuallyAsync(() => env.GetClusterAsync("clusterqueues", clusterQueue),
            q => q["status"]?["admittedWorkloads"]?.GetValue<long>() == 0 && q["status"]?["pendingWorkloads"]?.GetValue<long>() == 0, "the deleted Jobs' workloads are gone");
    }

    [Fact]
    public async Task A_finished_job_marks_its_workload_finished_and_releases_the_quota()
    {
        await using var env = await StartAsync();
        var ns = await env.NewNamespaceAsync();
        var clusterQueue = await env.CreateQueuesAsync(ns, "team", cpu: "1");

        await env.Client.BatchV1.CreateNamespacedJobAsync(Job("short", "team", seconds: 1), ns);
        await env.Client.BatchV1.CreateNamespacedJobAsync(Job("after", "team", seconds: 1), ns);

        var finished = await env.WaitForWorkloadAsync(ns, "short", w => ConditionIs(w, "Finished", "True"), "short's workload is finished");
        Condition(finished, "Finished")!["reason"]!.GetValue<string>().Should().Be("Succeeded");
        await env.WaitForJobAsync(ns, "after", j => IsTrue(j, "Complete"), "the second Job runs once the first released the quota");
        await EventuallyAsync(() => env.GetClusterAsync("clusterqueues", clusterQueue),
            q => q["status"]?["admittedWorkloads"]?.GetValue<long>() == 0 && q["status"]?["flavorsUsage"]?[0]?["resources"]?[0]?["total"]?.GetValue<string>() == "0",
            "finished workloads hold no quota");
    }

    [Fact]
    public async Task Unknown_local_queues_cluster_queues_or_priority_classes_leave_the_job_suspended_with_kueues_messages()
    {
        await using var env = await StartAsync();
        var ns = await env.NewNamespaceAsync();
        await env.CreateLocalQueueAsync(ns, "orphan", "no-such-cq");

        await env.Client.BatchV1.CreateNamespacedJobAsync(Job("lost", "nope"), ns);
        await env.Client.BatchV1.CreateNamespacedJobAsync(Job("stranded", "orphan"), ns);

        var lost = await env.WaitForWorkloadAsync(ns, "lost", w => Condition(w, "QuotaReserved") is not null, "lost has a QuotaReserved condition");
        Condition(lost, "QuotaReserved")!["status"]!.GetValue<string>().Should().Be("False");
        Condition(lost, "QuotaReserved")!["reason"]!.GetValue<string>().Should().Be("Inadmissible");
        Condition(lost, "QuotaReserved")!["message"]!.GetValue<string>().Should().Be("LocalQueue nope doesn't exist");
        var stranded = await env.WaitForWorkloadAsync(ns, "stranded", w => Condition(w, "QuotaReserved") is not null, "stranded has a QuotaReserved condition");
        Condition(stranded, "QuotaReserved")!["message"]!.GetValue<string>().Should().Be("ClusterQueue no-such-cq doesn't exist");
        (await env.Client.BatchV1.ReadNamespacedJobAsync("lost", ns)).Spec.Suspend.Should().BeTrue();
        var localQueue = await EventuallyAsync(() => env.GetAsync(ns, "localqueues", "orphan"), q => Condition(q, "Active") is not null, "the LocalQueue has status");
        Condition(localQueue, "Active")!["status"]!.GetValue<string>().Should().Be("False");

        // creating the missing queues admits the waiting Job
        await env.CreateQueuesAsync(ns, "nope", cpu: "2");
        await env.WaitForWorkloadAsync(ns, "lost", w => ConditionIs(w, "Admitted", "True"), "lost is admitted once its queue exists");
        await env.WaitForJobAsync(ns, "lost", j => j.Spec.Suspend == false, "lost is unsuspended");

        // a ClusterQueue without a namespaceSelector selects no namespace (Kueue's default)
        var closed = ClusterQueue($"closed-{ns}", $"flavor-{ns}", "4");
        closed["spec"]!.AsObject().Remove("namespaceSelector");
        await env.CreateClusterAsync("clusterqueues", closed);
        await env.CreateLocalQueueAsync(ns, "closed", $"closed-{ns}");
        await env.Client.BatchV1.CreateNamespacedJobAsync(Job("excluded", "closed"), ns);
        var excluded = await env.WaitForWorkloadAsync(ns, "excluded", w => Condition(w, "QuotaReserved") is not null, "excluded has a QuotaReserved condition");
        Condition(excluded, "QuotaReserved")!["message"]!.GetValue<string>().Should().Be("Workload namespace doesn't match ClusterQueue selector");

        // an unknown WorkloadPriorityClass keeps the workload inadmissible until the class exists
        await env.Client.BatchV1.CreateNamespacedJobAsync(Job("ghostly", "nope", priorityClass: $"ghost-{ns}"), ns);
        var ghostly = await env.WaitForWorkloadAsync(ns, "ghostly", w => Condition(w, "QuotaReserved") is not null, "ghostly has a QuotaReserved condition");
        Condition(ghostly, "QuotaReserved")!["reason"]!.GetValue<string>().Should().Be("Inadmissible");
        Condition(ghostly, "QuotaReserved")!["message"]!.GetValue<string>().Should().Be($"workloadpriorityclasses.kueue.x-k8s.io \"ghost-{ns}\" not found");
        ghostly["spec"]!["priorityClassName"]!.GetValue<string>().Should().Be($"ghost-{ns}");
        await env.CreatePriorityClassAsync($"ghost-{ns}", 7);
        var admitted = await env.WaitForWorkloadAsync(ns, "ghostly", w => ConditionIs(w, "Admitted", "True"), "ghostly is admitted once its class exists");
        admitted["spec"]!["priority"]!.GetValue<long>().Should().Be(7);
    }

    [Fact]
    public async Task A_strict_fifo_queue_is_blocked_by_its_head_while_best_effort_fifo_admits_what_fits_behind_it()
    {
        await using var env = await StartAsync();
        var strictNs = await env.NewNamespaceAsync();
        var bestEffortNs = await env.NewNamespaceAsync();
        var strict = await env.CreateQueuesAsync(strictNs, "team", cpu: "2", queueingStrategy: "StrictFIFO");
        await env.CreateQueuesAsync(bestEffortNs, "team", cpu: "2");
        foreach (var ns in new[] { strictNs, bestEffortNs })
        {
            // more than the whole quota: never admitted
            await env.Client.BatchV1.CreateNamespacedJobAsync(Job("big", "team", cpu: "3"), ns);
            await env.WaitForWorkloadAsync(ns, "big", w => Condition(w, "QuotaReserved") is not null, "big is pending");
            await env.Client.BatchV1.CreateNamespacedJobAsync(Job("small", "team", cpu: "1"), ns);
        }

        await env.WaitForWorkloadAsync(bestEffortNs, "small", w => ConditionIs(w, "Admitted", "True"), "BestEffortFIFO admits small behind big");
        // the status is written after the scheduling step of the same pass: two pending means small was passed over
        await EventuallyAsync(() => env.GetClusterAsync("clusterqueues", strict),
            q => q["status"]?["pendingWorkloads"]?.GetValue<long>() == 2 && q["status"]?["admittedWorkloads"]?.GetValue<long>() == 0, "StrictFIFO holds small behind big");
        (await env.WorkloadOfAsync(strictNs, "small"))!["status"]?["admission"].Should().BeNull();
        (await env.Client.BatchV1.ReadNamespacedJobAsync("small", strictNs)).Spec.Suspend.Should().BeTrue();
        var big = await env.WorkloadOfAsync(strictNs, "big");
        Condition(big!, "QuotaReserved")!["message"]!.GetValue<string>().Should().Be(
            $"couldn't assign flavors to pod set main: insufficient quota for cpu in flavor flavor-{strictNs}, request > maximum capacity (3 > 2)");
    }

    [GeneratedRegex("^job-second-[0-9a-f]{5}$")]
    private static partial Regex WorkloadNameRegex();
}
