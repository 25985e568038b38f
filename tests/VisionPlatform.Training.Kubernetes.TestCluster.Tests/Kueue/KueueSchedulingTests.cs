using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Kueue;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Kueue;

/// <summary>The flavor assigner and the preemption planner on their own: flavor order, messages, minimal victim sets.</summary>
public sealed class KueueSchedulingTests
{
    private static readonly Dictionary<string, JsonObject> NoFlavorObjects = new(StringComparer.Ordinal);

    [Fact]
    public void The_next_flavor_is_used_when_the_first_is_full_and_the_message_lists_every_flavor_when_none_fits()
    {
        var queue = Queue("Never", ("on-demand", "2"), ("spot", "4"));
        var ledger = new QuotaLedger();
        ledger.Add("on-demand", "cpu", 2);

        var fits = FlavorAssigner.Assign(queue, ledger, Workload("w", priority: 0, cpu: "3"), NoFlavorObjects);
        fits.Fits.Should().BeTrue();
        fits.Assignments[0]!["flavors"]!["cpu"]!.GetValue<string>().Should().Be("spot");
        fits.Assignments[0]!["resourceUsage"]!["cpu"]!.GetValue<string>().Should().Be("3");

        ledger.Add("spot", "cpu", 2);
        var full = FlavorAssigner.Assign(queue, ledger, Workload("w", priority: 0, cpu: "2500m"), NoFlavorObjects);
        full.Message.Should().Be("couldn't assign flavors to pod set main: insufficient quota for cpu in flavor on-demand, request > maximum capacity (2500m > 2), "
            + "insufficient unused quota for cpu in flavor spot, 500m more needed");

        FlavorAssigner.Assign(queue, new QuotaLedger(), Workload("gpu", priority: 0, cpu: "1", gpu: "1"), NoFlavorObjects).Message
            .Should().Be("couldn't assign flavors to pod set main: resource nvidia.com/gpu unavailable in ClusterQueue");
    }

    [Fact]
    public void Preemption_takes_the_lowest_priority_first_and_gives_back_victims_that_are_not_needed()
    {
        var queue = Queue("LowerPriority", ("default", "3"));
        var low = Admitted(Workload("low", priority: 1, cpu: "1"), "default");
        var middle = Admitted(Workload("middle", priority: 2, cpu: "2"), "default");
        var ledger = new QuotaLedger();
        ledger.Add(low);
        ledger.Add(middle);

        // removing "low" frees 1 of the 2 needed, so "middle" goes too; then "low" turns out not to be needed
        PreemptionPlanner.Victims(queue, ledger, Workload("urgent", priority: 10, cpu: "2"), [low, middle], NoFlavorObjects)
            .Select(v => v.Name).Should().Equal("middle");
        PreemptionPlanner.Victims(queue, ledger, Workload("same", priority: 2, cpu: "2"), [low, middle], NoFlavorObjects)
            .Should().BeEmpty("only lower priorities may be preempted and low alone does not make room");
        PreemptionPlanner.Victims(Queue("Never", ("default", "3")), ledger, Workload("urgent", priority: 10, cpu: "1"), [low, middle], NoFlavorObjects)
            .Should().BeEmpty();
    }

    [Fact]
    public void Lower_or_newer_equal_priority_also_preempts_equal_priority_workloads_queued_after_the_preemptor()
    {
        var queue = Queue("LowerOrNewerEqualPriority", ("default", "1"));
        var older = Workload("older", priority: 5, cpu: "1", created: "2026-01-01T00:00:00Z");
        var newer = Admitted(Workload("newer", priority: 5, cpu: "1", created: "2026-01-01T00:01:00Z"), "default");
        var ledger = new QuotaLedger();
        ledger.Add(newer);

        PreemptionPlanner.Victims(queue, ledger, older, [newer], NoFlavorObjects).Select(v => v.Name).Should().Equal("newer");
        var olderAdmitted = Admitted(older, "default");
        var ledger2 = new QuotaLedger();
        ledger2.Add(olderAdmitted);
        PreemptionPlanner.Victims(queue, ledger2, Workload("later", priority: 5, cpu: "1", created: "2026-01-01T00:02:00Z"), [olderAdmitted], NoFlavorObjects)
            .Should().BeEmpty("an older workload of equal priority is not preempted");
    }

    private static ClusterQueueInfo Queue(string withinClusterQueue, params (string Flavor, string Cpu)[] flavors) => new(new JsonObject
    {
        ["metadata"] = new JsonObject { ["name"] = "cq" },
        ["spec"] = new JsonObject
        {
            ["preemption"] = new JsonObject { ["withinClusterQueue"] = withinClusterQueue },
            ["resourceGroups"] = new JsonArray(new JsonObject
            {
                ["coveredResources"] = new JsonArray("cpu"),
                ["flavors"] = new JsonArray(flavors.Select(f => (JsonNode)new JsonObject
                {
                    ["name"] = f.Flavor,
                    ["resources"] = new JsonArray(new JsonObject { ["name"] = "cpu", ["nominalQuota"] = f.Cpu }),
                }).ToArray()),
            }),
        },
    });

    private static WorkloadInfo Workload(string name, long priority, string cpu, string? gpu = null, string created = "2026-01-01T00:00:00Z")
    {
        var requests = new JsonObject { ["cpu"] = cpu };
        if (gpu is not null)
        {
            requests["nvidia.com/gpu"] = gpu;
        }

        return new WorkloadInfo(new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "ml", ["uid"] = "uid-" + name, ["creationTimestamp"] = created },
            ["spec"] = new JsonObject
            {
                ["queueName"] = "team",
                ["priority"] = priority,
                ["podSets"] = new JsonArray(new JsonObject
                {
                    ["name"] = "main",
                    ["count"] = 1,
                    ["template"] = new JsonObject
                    {
                        ["spec"] = new JsonObject
                        {
                            ["containers"] = new JsonArray(new JsonObject { ["name"] = "c", ["resources"] = new JsonObject { ["requests"] = requests } }),
                        },
                    },
                }),
            },
        }, sequence: 0);
    }

    private static WorkloadInfo Admitted(WorkloadInfo workload, string flavor)
    {
        var obj = workload.Object.DeepClone().AsObject();
        var cpu = obj["spec"]!["podSets"]![0]!["template"]!["spec"]!["containers"]![0]!["resources"]!["requests"]!["cpu"]!.GetValue<string>();
        obj["status"] = new JsonObject
        {
            ["admission"] = new JsonObject
            {
                ["clusterQueue"] = "cq",
                ["podSetAssignments"] = new JsonArray(new JsonObject
                {
                    ["name"] = "main",
                    ["flavors"] = new JsonObject { ["cpu"] = flavor },
                    ["resourceUsage"] = new JsonObject { ["cpu"] = cpu },
                    ["count"] = 1,
                }),
            },
            ["conditions"] = new JsonArray(new JsonObject { ["type"] = "QuotaReserved", ["status"] = "True", ["lastTransitionTime"] = "2026-01-01T00:05:00Z" }),
        };
        return new WorkloadInfo(obj, workload.Sequence);
    }
}
