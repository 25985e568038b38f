using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Scheduling;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Scheduling;

public class PodFitTests
{
    private static JsonObject Pod(string? gpuLimit = null, string? cpu = null, bool gpuToleration = false, bool gpuSelector = false, string? nodeName = null, string phase = "Pending")
    {
        var resources = new JsonObject();
        if (gpuLimit is not null)
        {
            resources["limits"] = new JsonObject { ["nvidia.com/gpu"] = gpuLimit };
        }

        if (cpu is not null)
        {
            resources["requests"] = new JsonObject { ["cpu"] = cpu };
        }

        var spec = new JsonObject
        {
            ["containers"] = new JsonArray(new JsonObject { ["name"] = "trainer", ["image"] = "x:1", ["resources"] = resources }),
        };
        if (gpuToleration)
        {
            spec["tolerations"] = new JsonArray(new JsonObject { ["key"] = "nvidia.com/gpu", ["operator"] = "Exists", ["effect"] = "NoSchedule" });
        }

        if (gpuSelector)
        {
            spec["nodeSelector"] = new JsonObject { ["accelerator"] = "nvidia-gpu" };
        }

        if (nodeName is not null)
        {
            spec["nodeName"] = nodeName;
        }

        return new JsonObject { ["metadata"] = new JsonObject { ["name"] = "p", ["namespace"] = "ml" }, ["spec"] = spec, ["status"] = new JsonObject { ["phase"] = phase } };
    }

    [Fact]
    public void A_plain_pod_fits_the_default_node()
    {
        PodFit.Schedule(Pod(cpu: "2"), [SimulatedNode.Default()], []).NodeName.Should().Be("node-1");
    }

    [Fact]
    public void A_gpu_pod_without_gpu_nodes_gets_the_schedulers_message()
    {
        var result = PodFit.Schedule(Pod(gpuLimit: "1", gpuToleration: true), [SimulatedNode.Default()], []);

        result.NodeName.Should().BeNull();
        result.Message.Should().Be("0/1 nodes are available: 1 Insufficient nvidia.com/gpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.");
    }

    [Fact]
    public void Reasons_from_several_nodes_form_a_sorted_histogram_with_the_preemption_part()
    {
        var busyGpu = SimulatedNode.Gpu("gpu-1", gpus: 1);
        var running = Pod(gpuLimit: "1", gpuToleration: true, gpuSelector: true, nodeName: "gpu-1", phase: "Running");

        var result = PodFit.Schedule(Pod(gpuLimit: "1", gpuToleration: true, gpuSelector: true), [SimulatedNode.Default(), busyGpu], [running]);

        result.Message.Should().Be(
            "0/2 nodes are available: 1 Insufficient nvidia.com/gpu, 1 node(s) didn't match Pod's node affinity/selector. "
            + "preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.");
    }

    [Fact]
    public void Terminated_pods_free_their_resources()
    {
        var done = Pod(gpuLimit: "1", gpuToleration: true, gpuSelector: true, nodeName: "gpu-1", phase: "Succeeded");

        PodFit.Schedule(Pod(gpuLimit: "1", gpuToleration: true, gpuSelector: true), [SimulatedNode.Gpu("gpu-1")], [done]).NodeName.Should().Be("gpu-1");
    }

    [Fact]
    public void An_untolerated_taint_is_reported_with_its_key_and_value()
    {
        var result = PodFit.Schedule(Pod(), [SimulatedNode.Gpu("gpu-1")], []);

        result.Message.Should().Be("0/1 nodes are available: 1 node(s) had untolerated taint {nvidia.com/gpu: }. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.");
    }

    [Fact]
    public void A_cordoned_node_takes_no_pods()
    {
        var result = PodFit.Schedule(Pod(), [SimulatedNode.Default() with { Unschedulable = true }], []);

        result.Message.Should().StartWith("0/1 nodes are available: 1 node(s) were unschedulable.");
    }

    [Fact]
    public void Requests_are_summed_over_the_pods_already_bound()
    {
        var node = new SimulatedNode("small", cpu: "4");
        var running = Pod(cpu: "3", nodeName: "small", phase: "Running");

        PodFit.Schedule(Pod(cpu: "2"), [node], [running]).Message.Should().StartWith("0/1 nodes are available: 1 Insufficient cpu.");
        PodFit.Schedule(Pod(cpu: "1"), [node], [running]).NodeName.Should().Be("small");
    }

    [Fact]
    public void No_nodes_at_all_has_its_own_message()
    {
        PodFit.Schedule(Pod(), [], []).Message.Should().Be("no nodes available to schedule pods");
    }
}
