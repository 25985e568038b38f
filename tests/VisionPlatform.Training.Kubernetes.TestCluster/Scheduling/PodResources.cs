using System.Text.Json.Nodes;
using k8s.Models;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Scheduling;

/// <summary>Resource arithmetic the scheduler needs, on Kubernetes quantities.</summary>
internal static class PodResources
{
    /// <summary>
    /// The pod's effective requests as the scheduler computes them: the sum over containers, or the largest init container
    /// when that is more, per resource. A resource with only a limit is requested at the limit (apiserver defaulting).
    /// </summary>
    public static Dictionary<string, decimal> Requests(JsonObject pod)
    {
        var spec = pod.ObjOrNull("spec");
        var total = new Dictionary<string, decimal>(StringComparer.Ordinal);
        foreach (var container in spec.ArrOrNull("containers").Objects())
        {
            foreach (var (name, amount) in ContainerRequests(container))
            {
                total[name] = total.GetValueOrDefault(name) + amount;
            }
        }

        foreach (var init in spec.ArrOrNull("initContainers").Objects())
        {
            foreach (var (name, amount) in ContainerRequests(init))
            {
                total[name] = Math.Max(total.GetValueOrDefault(name), amount);
            }
        }

        return total;
    }

    public static decimal Parse(string quantity) => new ResourceQuantity(quantity).ToDecimal();

    private static Dictionary<string, decimal> ContainerRequests(JsonObject container)
    {
        var resources = container.ObjOrNull("resources");
        var result = new Dictionary<string, decimal>(StringComparer.Ordinal);
        foreach (var source in new[] { resources.ObjOrNull("limits"), resources.ObjOrNull("requests") })
        {
            if (source is null)
            {
                continue;
            }

            foreach (var (name, value) in source)
            {
                if (value is not null)
                {
                    result[name] = Parse(value.ToString());
                }
            }
        }

        return result;
    }
}
