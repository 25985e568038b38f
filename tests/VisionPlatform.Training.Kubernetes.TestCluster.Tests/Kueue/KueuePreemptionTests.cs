using k8s;
using static VisionPlatform.Training.Kubernetes.TestCluster.Tests.Kueue.KueueEnvironment;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Kueue;

/// <summary>
/// Preemption within a ClusterQueue: a higher-priority Job evicts a running lower-priority one (suspended again, pods
/// deleted, one eviction counted), runs, and the victim is readmitted and completes after the winner finishes.
/// </summary>
public sealed class KueuePreemptionTests
{
    [Fact]
    public async Task A_higher_priority_job_preempts_a_lower_one_which_is_readmitted_and_completes_after_it()
    {
        await using var env = await StartAsync();
        var ns = await env.NewNamespaceAsync();
        var clusterQueue = await env.CreateQueuesAsync(ns, "team", cpu: "1", withinClusterQueue: "LowerPriority");
        await env.CreatePriorityClassAsync($"low-{ns}", 100);
        await env.CreatePriorityClassAsync($"high-{ns}", 1000);

        // the victim's first pod would run ten minutes; once readmitted it runs one second
        await env.Client.BatchV1.CreateNamespacedJobAsync(Job("victim", "team", seconds: 600, rerunSeconds: 1, priorityClass: $"low-{ns}"), ns);
        var firstPod = (await EventuallyAsync(() => env.PodsOfAsync(ns, "victim"), p => p.Any(x => x.Status?.Phase == "Running"), "the victim runs")).Single();
        var victimWorkload = await env.WorkloadOfAsync(ns, "victim");
        victimWorkload!["spec"]!["priority"]!.GetValue<long>().Should().Be(100);
        victimWorkload["spec"]!["priorityClassSource"]!.GetValue<string>().Should().Be("kueue.x-k8s.io/workloadpriorityclass");

        var beforePreemption = await env.Client.BatchV1.ReadNamespacedJobAsync("victim", ns);
        await env.Client.BatchV1.CreateNamespacedJobAsync(Job("winner", "team", seconds: 2, priorityClass: $"high-{ns}"), ns);

        var evicted = await env.WaitForWorkloadAsync(ns, "victim", w => ConditionIs(w, "Evicted", "True"), "the victim is evicted");
        var winner = await env.WorkloadOfAsync(ns, "winner");
        var winnerJob = await env.Client.BatchV1.ReadNamespacedJobAsync("winner", ns);
        var message = $"Preempted to accommodate a workload (UID: {winner!["metadata"]!["uid"]}, JobUID: {winnerJob.Metadata.Uid}) due to prioritization in the ClusterQueue";
        Condition(evicted, "Evicted")!["reason"]!.GetValue<string>().Should().Be("Preempted");
        Condition(evicted, "Evicted")!["message"]!.GetValue<string>().Should().Be(message);
        Condition(evicted, "Preempted")!["reason"]!.GetValue<string>().Should().Be("InClusterQueue");
        Condition(evicted, "QuotaReserved")!["status"]!.GetValue<string>().Should().Be("False");
        Condition(evicted, "Admitted")!["status"]!.GetValue<string>().Should().Be("False");
        evicted["status"]!["admission"].Should().BeNull();
        var eviction = evicted["status"]!["schedulingStats"]!["evictions"]![0]!;
        eviction["reason"]!.GetValue<string>().Should().Be("Preempted");
        eviction["underlyingCause"]!.GetValue<string>().Should().BeEmpty();
        eviction["count"]!.GetValue<long>().Should().Be(1);

        await EventuallyAsync(() => env.PodsOfAsync(ns, "victim"), p => p.All(x => x.Metadata.Uid != firstPod.Metadata.Uid), "the victim's pod is deleted");
        var events = await env.Client.CoreV1.ListNamespacedEventAsync(ns);
        events.Items.Should().Contain(e => e.InvolvedObject.Kind == "Workload" && e.Reason == "Preempted" && e.Message == message);
        events.Items.Should().Contain(e => e.InvolvedObject.Kind == "Workload" && e.Reason == "EvictedDueToPreempted");
        events.Items.Should().Contain(e => e.InvolvedObject.Name == "victim" && e.Reason == "Stopped" && e.Message == message);

        await env.WaitForJobAsync(ns, "winner", j => IsTrue(j, "Complete"), "the winner completes");
        var victimJob = await env.WaitForJobAsync(ns, "victim", j => IsTrue(j, "Complete"), "the readmitted victim completes");
        victimJob.Status.Failed.Should().BeNull("pods removed by the suspension are not failures");
        // every state the victim's Job went through since, replayed by a watch: suspended with no active pod, then resumed
        var history = new List<k8s.Models.V1Job>();
        await foreach (var (_, job) in env.Client.BatchV1.WatchListNamespacedJobAsync(ns, resourceVersion: beforePreemption.Metadata.ResourceVersion, timeoutSeconds: 1))
        {
            if (job.Metadata.Name == "victim")
            {
                history.Add(job);
            }
        }

        var suspendedAt = history.FindIndex(j => j.Spec.Suspend == true && IsTrue(j, "Suspended") && (j.Status.Active ?? 0) == 0);
        suspendedAt.Should().BeGreaterThanOrEqualTo(0, "the victim's Job was suspended again and its pod removed");
        history.Skip(suspendedAt).Should().Contain(j => j.Spec.Suspend == false, "it was unsuspended when readmitted");

        var readmitted = await env.WaitForWorkloadAsync(ns, "victim", w => ConditionIs(w, "Finished", "True"), "the victim's workload is finished");
        readmitted["status"]!["schedulingStats"]!["evictions"]![0]!["count"]!.GetValue<long>().Should().Be(1, "it was preempted once");
        Condition(readmitted, "Evicted")!["status"]!.GetValue<string>().Should().Be("False");
        var queue = await env.GetClusterAsync("clusterqueues", clusterQueue);
        queue["spec"]!["preemption"]!["withinClusterQueue"]!.GetValue<string>().Should().Be("LowerPriority");
    }

    [Fact]
    public async Task Without_a_preemption_policy_the_higher_priority_job_waits_at_the_head_of_the_queue()
    {
        await using var env = await StartAsync();
        var ns = await env.NewNamespaceAsync();
        await env.CreateQueuesAsync(ns, "team", cpu: "1");
        await env.CreatePriorityClassAsync($"high-{ns}", 1000);

        await env.Client.BatchV1.CreateNamespacedJobAsync(Job("running", "team"), ns);
        await EventuallyAsync(() => env.PodsOfAsync(ns, "running"), p => p.Any(x => x.Status?.Phase == "Running"), "the first Job runs");
        await env.Client.BatchV1.CreateNamespacedJobAsync(Job("ordinary", "team"), ns);
        await env.WaitForWorkloadAsync(ns, "ordinary", w => Condition(w, "QuotaReserved") is not null, "ordinary is pending");
        await env.Client.BatchV1.CreateNamespacedJobAsync(Job("urgent", "team", priorityClass: $"high-{ns}"), ns);
        await env.WaitForWorkloadAsync(ns, "urgent", w => Condition(w, "QuotaReserved")?["reason"]?.GetValue<string>() == "Pending", "urgent is pending");

        var (code, body) = await env.GetRawAsync($"/apis/visibility.kueue.x-k8s.io/v1beta1/namespaces/{ns}/localqueues/team/pendingworkloads");
        code.Should().Be(200);
        body["items"]!.AsArray().Select(i => i!["localQueueName"]!.GetValue<string>()).Should().Equal("team", "team");
        body["items"]![0]!["priority"]!.GetValue<long>().Should().Be(1000, "the higher priority is first");
        (await env.WorkloadOfAsync(ns, "running")).Should().Match<System.Text.Json.Nodes.JsonObject>(w => ConditionIs(w, "Admitted", "True"), "Never does not preempt");
    }
}
