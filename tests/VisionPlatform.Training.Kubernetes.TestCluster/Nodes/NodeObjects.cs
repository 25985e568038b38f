using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Scheduling;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Nodes;

/// <summary>
/// Publishes the simulated nodes as <c>v1/Node</c> objects, as kubelets register their nodes: labels, taints (plus
/// <c>node.kubernetes.io/unschedulable:NoSchedule</c> on a cordoned node, as the node lifecycle controller adds it),
/// capacity and allocatable, a Ready condition, addresses and node info. The inventory is the source of truth: a
/// Node changed through the API is put back; use <see cref="WorkloadFaults"/> to change nodes.
/// </summary>
internal static class NodeObjects
{
    public static JsonObject Build(SimulatedNode node, string now)
    {
        var labels = new JsonObject { ["kubernetes.io/arch"] = "amd64", ["beta.kubernetes.io/arch"] = "amd64", ["beta.kubernetes.io/os"] = "linux" };
        foreach (var (key, value) in node.EffectiveLabels().OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            labels[key] = value;
        }

        var taints = new JsonArray(node.Taints.Select(t => (JsonNode?)Taint(t.Key, t.Value, t.Effect)).ToArray());
        if (node.Unschedulable)
        {
            taints.Add(Taint("node.kubernetes.io/unschedulable", string.Empty, "NoSchedule", now));
        }

        var spec = new JsonObject();
        if (taints.Count > 0)
        {
            spec["taints"] = taints;
        }

        if (node.Unschedulable)
        {
            spec["unschedulable"] = true;
        }

        var resources = new JsonObject();
        foreach (var (name, quantity) in node.Allocatable.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            resources[name] = quantity;
        }

        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Node",
            ["metadata"] = new JsonObject { ["name"] = node.Name, ["labels"] = labels },
            ["spec"] = spec,
            ["status"] = new JsonObject
            {
                ["capacity"] = resources.DeepClone(),
                ["allocatable"] = resources,
                ["conditions"] = new JsonArray(new JsonObject
                {
                    ["type"] = "Ready",
                    ["status"] = "True",
                    ["reason"] = "KubeletReady",
                    ["message"] = "kubelet is posting ready status",
                    ["lastHeartbeatTime"] = now,
                    ["lastTransitionTime"] = now,
                }),
                ["addresses"] = new JsonArray(
                    new JsonObject { ["type"] = "InternalIP", ["address"] = node.InternalIp },
                    new JsonObject { ["type"] = "Hostname", ["address"] = node.Name }),
                ["nodeInfo"] = new JsonObject
                {
                    ["architecture"] = "amd64",
                    ["operatingSystem"] = "linux",
                    ["osImage"] = "VisionPlatform test cluster",
                    ["kernelVersion"] = Environment.OSVersion.Version.ToString(),
                    ["containerRuntimeVersion"] = "containerd://2.0.0",
                    ["kubeletVersion"] = "v1.34.0",
                    ["kubeProxyVersion"] = "v1.34.0",
                },
            },
        };
    }

    /// <summary>Creates, updates and deletes Node objects so they match the inventory.</summary>
    public static void Publish(ClusterStore store, IReadOnlyList<SimulatedNode> nodes, DateTimeOffset time)
    {
        var now = KubeJson.Timestamp(time);
        var existing = store.List(ResourceType.Nodes, null).Items.ToDictionary(n => n.Name(), StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            var desired = Build(node, now);
            try
            {
                if (!existing.TryGetValue(node.Name, out var current))
                {
                    store.Create(ResourceType.Nodes, null, desired);
                }
                else if (!SameExceptTimes(current, desired))
                {
                    store.Update(ResourceType.Nodes, null, node.Name, n =>
                    {
                        n["metadata"]!["labels"] = desired["metadata"]!["labels"]!.DeepClone();
                        n["spec"] = desired["spec"]!.DeepClone();
                        n["status"] = desired["status"]!.DeepClone();
                        return n;
                    });
                }
            }
            catch (StoreException ex) when (ex.Code is 404 or 409)
            {
                // raced with another change; the next pass publishes again
            }
        }

        foreach (var name in existing.Keys.Except(nodes.Select(n => n.Name), StringComparer.Ordinal))
        {
            try
            {
                store.Delete(ResourceType.Nodes, null, name, DeleteOptions.Default);
            }
            catch (StoreException ex) when (ex.Code == 404)
            {
                // already gone
            }
        }
    }

    private static JsonObject Taint(string key, string value, string effect, string? timeAdded = null)
    {
        var taint = new JsonObject { ["key"] = key };
        if (value.Length > 0)
        {
            taint["value"] = value;
        }

        taint["effect"] = effect;
        if (timeAdded is not null)
        {
            taint["timeAdded"] = timeAdded;
        }

        return taint;
    }

    private static bool SameExceptTimes(JsonObject current, JsonObject desired)
    {
        static JsonNode? Strip(JsonObject node)
        {
            var copy = new JsonObject
            {
                ["labels"] = node["metadata"]?["labels"]?.DeepClone(),
                ["spec"] = node["spec"]?.DeepClone(),
                ["status"] = node["status"]?.DeepClone(),
            };
            foreach (var condition in copy["status"].ArrOrNull("conditions").Objects())
            {
                condition.Remove("lastHeartbeatTime");
                condition.Remove("lastTransitionTime");
            }

            foreach (var taint in copy["spec"].ArrOrNull("taints").Objects())
            {
                taint.Remove("timeAdded");
            }

            return copy;
        }

        return JsonNode.DeepEquals(Strip(current), Strip(desired));
    }
}
