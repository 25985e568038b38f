using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Validation;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Admission;

/// <summary>
/// What objects use of a ResourceQuota, as the quota evaluators count it: a pod uses <c>pods</c>, <c>count/pods</c>, and
/// its requests and limits (sum over containers, or the largest init container when that is more, plus overhead) as
/// <c>requests.cpu</c> (also <c>cpu</c>), <c>limits.cpu</c>, the same for memory and ephemeral-storage, and
/// <c>requests.&lt;extended&gt;</c> (<c>requests.nvidia.com/gpu</c>); a pod that has finished (Succeeded, Failed) uses
/// nothing. A Job uses <c>count/jobs.batch</c>; other types <c>count/&lt;resource&gt;</c>.
/// </summary>
internal static class QuotaUsage
{
    private static readonly string[] ComputeResources = ["cpu", "memory", "ephemeral-storage"];

    /// <summary>The quota resource names a pod's usage is checked against for "must specify" (quota's validationSet).</summary>
    public static readonly IReadOnlySet<string> RequiredForPods = new HashSet<string>(StringComparer.Ordinal)
    {
        "cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory",
    };

    /// <summary>The object-count resource name of a type: <c>count/jobs.batch</c>, <c>count/pods</c>.</summary>
    public static string CountName(ResourceType type) => "count/" + type.QualifiedResource;

    /// <summary>The count a type also has under its pre-<c>count/</c> name (<c>services</c>, <c>secrets</c>, <c>configmaps</c>, <c>resourcequotas</c>), or null.</summary>
    public static string? LegacyCountName(ResourceType type) =>
        type == ResourceType.Services || type == ResourceType.Secrets || type == ResourceType.ConfigMaps || type == ResourceType.ResourceQuotas
            ? type.Plural
            : null;

    /// <summary>What one pod uses (nothing once it has finished).</summary>
    public static Dictionary<string, decimal> OfPod(JsonObject pod, DateTimeOffset now)
    {
        var usage = new Dictionary<string, decimal>(StringComparer.Ordinal);
        if (!CountsTowardsQuota(pod, now))
        {
            return usage;
        }

        usage["pods"] = 1;
        usage[CountName(ResourceType.Pods)] = 1;
        var spec = pod["spec"] as JsonObject ?? [];
        foreach (var (section, prefix) in new[] { ("requests", "requests."), ("limits", "limits.") })
        {
            foreach (var (resource, amount) in Effective(spec, section))
            {
                var compute = ComputeResources.Contains(resource, StringComparer.Ordinal);
                if (compute)
                {
                    usage[prefix + resource] = amount;
                    if (section == "requests")
                    {
                        usage[resource] = amount;
                    }
                }
                else if (section == "requests" && !resource.StartsWith("hugepages-", StringComparison.Ordinal) && resource.Contains('/', StringComparison.Ordinal))
                {
                    usage[prefix + resource] = amount;
                }
            }
        }

        return usage;
    }

    /// <summary>Upstream QuotaV1Pod: finished pods, and terminating pods past their grace period, do not count.</summary>
    public static bool CountsTowardsQuota(JsonObject pod, DateTimeOffset now)
    {
        if (Json.GetString(pod, "status", "phase") is "Succeeded" or "Failed")
        {
            return false;
        }

        if (Json.ParseTime(Json.GetString(pod, "metadata", "deletionTimestamp")) is { } deletion
            && Json.GetLong(pod, "metadata", "deletionGracePeriodSeconds") is { } grace
            && now > deletion.AddSeconds(grace))
        {
            return false;
        }

        return true;
    }

    /// <summary>What everything in a namespace uses now, for the given quota resource names.</summary>
    public static Dictionary<string, decimal> OfNamespace(ClusterStore store, string ns, IEnumerable<string> resources, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(store);
        var wanted = resources.ToHashSet(StringComparer.Ordinal);
        var used = wanted.ToDictionary(r => r, _ => 0m, StringComparer.Ordinal);
        if (wanted.Any(IsPodResource))
        {
            foreach (var pod in store.List(ResourceType.Pods, ns).Items)
            {
                foreach (var (name, amount) in OfPod(pod, now))
                {
                    if (wanted.Contains(name))
                    {
                        used[name] += amount;
                    }
                }
            }
        }

        foreach (var name in wanted.Where(r => r.StartsWith("count/", StringComparison.Ordinal) && r != CountName(ResourceType.Pods)))
        {
            if (ResourceType.All.FirstOrDefault(t => CountName(t) == name) is { Namespaced: true } type)
            {
                used[name] = store.List(type, ns).Items.Count;
            }
        }

        foreach (var type in ResourceType.All)
        {
            if (LegacyCountName(type) is { } legacy && wanted.Contains(legacy))
            {
                used[legacy] = store.List(type, ns).Items.Count;
            }
        }

        return used;
    }

    /// <summary>A usage value as the apiserver prints it: memory-like amounts in binary units when they divide evenly.</summary>
    public static string Format(string resource, decimal value)
    {
        var binary = resource.Contains("memory", StringComparison.Ordinal) || resource.Contains("storage", StringComparison.Ordinal);
        return Quantity.FormatValue(value, binary);
    }

    /// <summary>apimachinery's quota prettyPrint: <c>name=value</c> sorted by name, joined by commas.</summary>
    public static string PrettyPrint(IEnumerable<KeyValuePair<string, string>> values) =>
        string.Join(",", values.OrderBy(v => v.Key, StringComparer.Ordinal).Select(v => $"{v.Key}={v.Value}"));

    /// <summary>Parses a stored (canonical) quantity; 0 for anything unreadable.</summary>
    public static decimal Parse(JsonNode? node) =>
        node is not null && Quantity.TryParse(node.ToString(), out var q, out _) ? q.Value : 0m;

    private static bool IsPodResource(string name) =>
        name is "pods" or "count/pods" or "cpu" or "memory" or "ephemeral-storage" || name.StartsWith("requests.", StringComparison.Ordinal)
        || name.StartsWith("limits.", StringComparison.Ordinal);

    /// <summary>Sum over containers, the largest init container when more, plus overhead (PodRequests/PodLimits).</summary>
    private static Dictionary<string, decimal> Effective(JsonObject spec, string section)
    {
        var total = new Dictionary<string, decimal>(StringComparer.Ordinal);
        foreach (var container in (spec["containers"] as JsonArray ?? []).OfType<JsonObject>())
        {
            foreach (var (name, amount) in Read(container, section))
            {
                total[name] = total.GetValueOrDefault(name) + amount;
            }
        }

        foreach (var init in (spec["initContainers"] as JsonArray ?? []).OfType<JsonObject>())
        {
            foreach (var (name, amount) in Read(init, section))
            {
                total[name] = Math.Max(total.GetValueOrDefault(name), amount);
            }
        }

        if (spec["overhead"] is JsonObject overhead)
        {
            foreach (var (name, value) in overhead)
            {
                if (total.ContainsKey(name))
                {
                    total[name] += Parse(value);
                }
            }
        }

        return total;
    }

    private static IEnumerable<(string Name, decimal Amount)> Read(JsonObject container, string section)
    {
        var resources = container["resources"] as JsonObject;
        var list = resources?[section] as JsonObject;
        if (section == "requests")
        {
            // a limit without a request is requested at the limit (SetDefaults_Pod); pods written by a controller
            // may not have been through that defaulting
            var limits = resources?["limits"] as JsonObject;
            foreach (var (name, value) in limits ?? [])
            {
                if (list is null || !list.ContainsKey(name))
                {
                    yield return (name, Parse(value));
                }
            }
        }

        foreach (var (name, value) in list ?? [])
        {
            yield return (name, Parse(value));
        }
    }
}
