using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using VisionPlatform.Training.Kubernetes.TestCluster.Api;

namespace VisionPlatform.Training.Kubernetes.Tests.Kueue;

/// <summary>
/// Runs through the test cluster's Kueue simulation (kueue.x-k8s.io/v1beta1 and the visibility API): a ClusterQueue
/// that holds one trainer at a time (100m CPU), a LocalQueue <c>team-a</c> in <c>training</c>, WorkloadPriorityClasses
/// <c>low</c> and <c>high</c>, and preemption of lower priorities. Statuses are read through the run monitor.
/// </summary>
public class KueueEndToEndTests
{
    private const string Group = "kueue.x-k8s.io";
    private const string Version = "v1beta1";
    private const string Queue = "team-a";

    [Fact]
    public async Task A_queued_run_shows_its_position_then_is_admitted_runs_and_succeeds()
    {
        await using var host = await StartAsync();
        var executor = (KubernetesTrainingExecutor)host.Executor;
        // The first run holds the quota until the test stops it, so the second one waits however long the positions
        // take (they are read at most every Kueue:PositionRefreshInterval).
        var first = await executor.StartAsync(WorkloadHarness.Trainer("kq-first", """{"epoch_seconds": 1}""", epochs: 600).Build());
        await WaitAsync(host, first, s => s.Phase == TrainingPhase.Running, "the first run to be admitted and run");

        var second = await executor.StartAsync(WorkloadHarness.Trainer("kq-second", """{"epoch_seconds": 0.2}""").Build());

        var queued = await WaitAsync(host, second, s => s.Reason == TrainingStatusReasons.Queued && s.Message!.Contains("position", StringComparison.Ordinal), "the second run to be Queued with its position");
        queued.Phase.Should().Be(TrainingPhase.Pending);
        queued.Message.Should().Be("couldn't assign flavors to pod set main: insufficient unused quota for cpu in flavor kq-flavor, 100m more needed; position 1 in queue team-a");
        using var directExecutor = host.Cluster.NewExecutor();
        var direct = await directExecutor.GetStatusAsync(second);
        direct.Reason.Should().Be(TrainingStatusReasons.Queued);
        direct.Message.Should().Be(queued.Message, "a direct read (no monitor) finds the Workload by its job-uid label and asks the visibility API once");

        (await executor.StopAsync(first)).Phase.Should().Be(TrainingPhase.Stopped);
        var done = await WaitAsync(host, second, s => s.IsTerminal, "the second run to be admitted once the first stopped, and finish");
        done.Phase.Should().Be(TrainingPhase.Succeeded, done.Message);
        host.Api.Requests.Entries.Count(e => e.Path.Contains("/pendingworkloads", StringComparison.Ordinal))
            .Should().BeLessThan(40, "positions are read once per queue per refresh, not per status read");
    }

    [Fact]
    public async Task A_preempted_run_is_Pending_Preempted_then_readmitted_and_succeeds()
    {
        await using var host = await StartAsync();
        var executor = (KubernetesTrainingExecutor)host.Executor;
        var low = await executor.StartAsync(WorkloadHarness.Trainer("kq-low", """{"epoch_seconds": 1}""", epochs: 3).Build(), new KubernetesJobOptions { WorkloadPriorityClass = "low" });
        await WaitAsync(host, low, s => s.Phase == TrainingPhase.Running, "the low-priority run to run");

        var high = await executor.StartAsync(WorkloadHarness.Trainer("kq-high", """{"epoch_seconds": 0.2}""").Build(), new KubernetesJobOptions { WorkloadPriorityClass = "high" });

        var preempted = await WaitAsync(host, low, s => s.Reason == TrainingStatusReasons.Preempted, "the low-priority run to be preempted");
        preempted.Phase.Should().Be(TrainingPhase.Pending);
        preempted.Message.Should().StartWith("The run was preempted (Preempted to accommodate a workload (UID: ")
            .And.Contain("preemption 1 of the 10 allowed; waiting to be admitted again in queue team-a");
        (await WaitAsync(host, high, s => s.IsTerminal, "the high-priority run to finish")).Phase.Should().Be(TrainingPhase.Succeeded);
        var readmitted = await WaitAsync(host, low, s => s.IsTerminal, "the preempted run to be readmitted and finish");
        readmitted.Phase.Should().Be(TrainingPhase.Succeeded, readmitted.Message);
        readmitted.Attempt.Should().BeGreaterThanOrEqualTo(1);
    }

    [Fact]
    public async Task Past_the_preemption_budget_the_run_fails_and_its_Workload_is_deactivated()
    {
        await using var host = await StartAsync(o => o.Kueue.MaxPreemptions = 0);
        var executor = (KubernetesTrainingExecutor)host.Executor;
        var low = await executor.StartAsync(WorkloadHarness.Trainer("kq-budget", """{"epoch_seconds": 1}""", epochs: 3).Build(), new KubernetesJobOptions { WorkloadPriorityClass = "low" });
        await WaitAsync(host, low, s => s.Phase == TrainingPhase.Running, "the low-priority run to run");

        var high = await executor.StartAsync(WorkloadHarness.Trainer("kq-budget-high", """{"epoch_seconds": 0.2}""").Build(), new KubernetesJobOptions { WorkloadPriorityClass = "high" });

        var failed = await WaitAsync(host, low, s => s.IsTerminal, "the preempted run to fail on its budget");
        failed.Phase.Should().Be(TrainingPhase.Failed);
        failed.Reason.Should().Be(TrainingStatusReasons.PreemptionBudgetExhausted);
        failed.Message.Should().StartWith("The run was preempted 1 times, more than the 0 allowed (Training:Kubernetes:Kueue:MaxPreemptions)");
        using var client = host.Api.CreateClient();
        var job = await Eventually.GetAsync(() => client.BatchV1.ReadNamespacedJobAsync(KubernetesJobNames.FromJobId("kq-budget"), "training"),
            j => j.Metadata.Annotations?.ContainsKey(KubernetesLabels.StopReasonAnnotation) == true, "the outcome to be recorded on the Job");
        job.Metadata.Annotations[KubernetesLabels.StopReasonAnnotation].Should().Be(TrainingStatusReasons.PreemptionBudgetExhausted);
        var workload = await Eventually.GetAsync(() => WorkloadOfAsync(client, job.Metadata.Uid), w => w?["spec"]?["active"]?.GetValue<bool>() == false, "the Workload to be deactivated");
        workload.Should().NotBeNull();

        (await WaitAsync(host, high, s => s.IsTerminal, "the high-priority run to finish")).Phase.Should().Be(TrainingPhase.Succeeded);
        await Task.Delay(TimeSpan.FromSeconds(1));
        using var restarted = host.Cluster.NewExecutor();
        var after = await restarted.GetStatusAsync(low);
        after.Reason.Should().Be(TrainingStatusReasons.PreemptionBudgetExhausted, "every host reads the record; Kueue does not admit the run again");
        (await client.BatchV1.ReadNamespacedJobAsync(job.Metadata.Name, "training")).Spec.Suspend.Should().BeTrue();
    }

    [Fact]
    public async Task Without_RBAC_on_the_visibility_API_a_queued_run_is_Queued_without_a_position_and_it_is_logged_once()
    {
        await using var host = await StartAsync(cluster: c => c.AccessPolicy = new AccessPolicy(
        [
            new AccessRule(["*"], ["*"], ""),
            new AccessRule(["*"], ["*"], "batch"),
            new AccessRule(["*"], ["*"], Group),
        ]));
        var executor = (KubernetesTrainingExecutor)host.Executor;
        var first = await executor.StartAsync(WorkloadHarness.Trainer("kq-403-first", """{"epoch_seconds": 1}""", epochs: 3).Build());
        await WaitAsync(host, first, s => s.Phase == TrainingPhase.Running, "the first run to run");

        var second = await executor.StartAsync(WorkloadHarness.Trainer("kq-403-second", """{"epoch_seconds": 0.2}""").Build());

        await WaitAsync(host, second, s => s.Reason == TrainingStatusReasons.Queued && s.Message!.StartsWith("couldn't assign flavors", StringComparison.Ordinal), "the second run to be Queued");
        await Eventually.GetAsync(
            () => Task.FromResult(PositionCalls(host).Count),
            n => n > 0,
            "the monitor to ask the visibility API for the queue's positions",
            TimeSpan.FromSeconds(60));
        var queued = await host.Executor.GetStatusAsync(second);
        queued.Reason.Should().Be(TrainingStatusReasons.Queued);
        queued.Message.Should().Be("couldn't assign flavors to pod set main: insufficient unused quota for cpu in flavor kq-flavor, 100m more needed");

        // The queue keeps changing until the second run is admitted and finishes: every change asks for positions again,
        // except for a queue the host was refused for.
        (await WaitAsync(host, second, s => s.IsTerminal, "the second run to finish")).Phase.Should().Be(TrainingPhase.Succeeded);
        PositionCalls(host).Should().OnlyContain(e => e.StatusCode == 403).And.HaveCount(1, "a 403 is not asked again");

        static List<TestCluster.Api.RequestLogEntry> PositionCalls(MonitorHost host) =>
            [.. host.Api.Requests.Entries.Where(e => e.Path.Contains("/pendingworkloads", StringComparison.Ordinal))];
    }

    [Fact]
    public async Task The_rendered_Role_with_Kueue_is_enough_for_positions_and_the_preemption_budget()
    {
        TestCluster.KubernetesTestClusterOptions? clusterOptions = null;
        await using var host = await StartAsync(o => o.Kueue.MaxPreemptions = 0, c => clusterOptions = c);

        // The queues exist (an administrator made them); from here on the API user holds only the rendered Role.
        clusterOptions!.AccessPolicy = RenderedRolePolicy();
        host.Api.Requests.Clear();
        var executor = (KubernetesTrainingExecutor)host.Executor;
        // The low run holds the quota until the high one preempts it, so the waiting run's position has time to show.
        var low = await executor.StartAsync(WorkloadHarness.Trainer("kq-role-low", """{"epoch_seconds": 1}""", epochs: 600).Build(), new KubernetesJobOptions { WorkloadPriorityClass = "low" });
        await WaitAsync(host, low, s => s.Phase == TrainingPhase.Running, "the low-priority run to run");
        var waiting = await executor.StartAsync(WorkloadHarness.Trainer("kq-role-waiting").Build(), new KubernetesJobOptions { WorkloadPriorityClass = "low" });
        await WaitAsync(host, waiting, s => s.Message?.EndsWith("; position 1 in queue team-a", StringComparison.Ordinal) == true, "the waiting run's position");

        var high = await executor.StartAsync(WorkloadHarness.Trainer("kq-role-high").Build(), new KubernetesJobOptions { WorkloadPriorityClass = "high" });

        (await WaitAsync(host, low, s => s.IsTerminal, "the preempted run to fail on its budget")).Reason.Should().Be(TrainingStatusReasons.PreemptionBudgetExhausted);
        using var client = host.Api.CreateClient();
        await Eventually.GetAsync(() => client.BatchV1.ReadNamespacedJobAsync(KubernetesJobNames.FromJobId("kq-role-low"), "training"),
            j => j.Metadata.Annotations?.ContainsKey(KubernetesLabels.StopReasonAnnotation) == true, "the outcome to be recorded on the Job");
        (await WaitAsync(host, high, s => s.IsTerminal, "the high-priority run to finish")).Phase.Should().Be(TrainingPhase.Succeeded);
        host.Api.Requests.Entries.Should().NotContain(e => e.StatusCode == 403, "every call of the SDK is allowed by the rendered Role");
        host.Api.Requests.Entries.Should().Contain(e => e.Method == "PATCH" && e.Path.StartsWith("/apis/kueue.x-k8s.io/v1beta1/namespaces/training/workloads/", StringComparison.Ordinal) && e.StatusCode == 200);
        host.Api.Requests.Entries.Should().Contain(e => e.Path.EndsWith("/localqueues/team-a/pendingworkloads", StringComparison.Ordinal) && e.StatusCode == 200);
    }

    /// <summary>The backend Role the cluster set-up renders with a queue configured, as the test cluster's access policy.</summary>
    private static AccessPolicy RenderedRolePolicy()
    {
        using var setup = new KubernetesClusterSetup(new KubernetesExecutorOptions { Kueue = { QueueName = Queue } });
        var yaml = setup.RenderYaml();
        var role = KubernetesYaml.Deserialize<V1Role>(yaml.Split("---\n").Single(d => d.Contains("kind: Role\n", StringComparison.Ordinal)));
        return new AccessPolicy(role.Rules.SelectMany(r => r.ApiGroups.Select(g => new AccessRule([.. r.Verbs], [.. r.Resources], g, "training"))));
    }

    private static async Task<MonitorHost> StartAsync(Action<KubernetesExecutorOptions>? executor = null, Action<TestCluster.KubernetesTestClusterOptions>? cluster = null)
    {
        var host = await MonitorHost.StartAsync(
            monitor: m => m.ReevaluateInterval = TimeSpan.FromMilliseconds(500),
            cluster: cluster,
            executor: o =>
            {
                o.Kueue.QueueName = Queue;
                executor?.Invoke(o);
            });
        try
        {
            using var client = host.Api.CreateClient();
            await CreateQueuesAsync(client);
            await host.WaitForSyncAsync();
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    /// <summary>A flavor, a ClusterQueue for one trainer at a time (preempting lower priorities), the LocalQueue, two priorities.</summary>
    internal static async Task CreateQueuesAsync(IKubernetes client)
    {
        await client.CustomObjects.CreateClusterCustomObjectAsync(new JsonObject
        {
            ["apiVersion"] = $"{Group}/{Version}", ["kind"] = "ResourceFlavor", ["metadata"] = new JsonObject { ["name"] = "kq-flavor" }, ["spec"] = new JsonObject(),
        }, Group, Version, "resourceflavors");
        await client.CustomObjects.CreateClusterCustomObjectAsync(new JsonObject
        {
            ["apiVersion"] = $"{Group}/{Version}",
            ["kind"] = "ClusterQueue",
            ["metadata"] = new JsonObject { ["name"] = "kq-cluster" },
            ["spec"] = new JsonObject
            {
                ["namespaceSelector"] = new JsonObject(),
                ["preemption"] = new JsonObject { ["withinClusterQueue"] = "LowerPriority" },
                ["resourceGroups"] = new JsonArray(new JsonObject
                {
                    ["coveredResources"] = new JsonArray("cpu", "memory"),
                    ["flavors"] = new JsonArray(new JsonObject
                    {
                        ["name"] = "kq-flavor",
                        ["resources"] = new JsonArray(
                            new JsonObject { ["name"] = "cpu", ["nominalQuota"] = "100m" },
                            new JsonObject { ["name"] = "memory", ["nominalQuota"] = "1Gi" }),
                    }),
                }),
            },
        }, Group, Version, "clusterqueues");
        await client.CustomObjects.CreateNamespacedCustomObjectAsync(new JsonObject
        {
            ["apiVersion"] = $"{Group}/{Version}", ["kind"] = "LocalQueue", ["metadata"] = new JsonObject { ["name"] = Queue }, ["spec"] = new JsonObject { ["clusterQueue"] = "kq-cluster" },
        }, Group, Version, "training", "localqueues");
        foreach (var (name, value) in new[] { ("low", 10), ("high", 1000) })
        {
            await client.CustomObjects.CreateClusterCustomObjectAsync(new JsonObject
            {
                ["apiVersion"] = $"{Group}/{Version}", ["kind"] = "WorkloadPriorityClass", ["metadata"] = new JsonObject { ["name"] = name }, ["value"] = value,
            }, Group, Version, "workloadpriorityclasses");
        }
    }

    private static async Task<JsonObject?> WorkloadOfAsync(IKubernetes client, string jobUid)
    {
        var list = await client.CustomObjects.ListNamespacedCustomObjectAsync(Group, Version, "training", "workloads", labelSelector: $"{KubernetesLabels.KueueJobUid}={jobUid}");
        return JsonNode.Parse(JsonSerializer.Serialize(list))!["items"]!.AsArray().OfType<JsonObject>().SingleOrDefault();
    }

    private static Task<TrainingRunStatus> WaitAsync(MonitorHost host, TrainingRun run, Func<TrainingRunStatus, bool> until, string what) =>
        Eventually.GetAsync(() => host.Executor.GetStatusAsync(run), until, what, TimeSpan.FromSeconds(90));
}
