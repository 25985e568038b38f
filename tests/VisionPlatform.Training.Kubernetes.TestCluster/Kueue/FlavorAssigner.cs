using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;
using QuotaUsage = VisionPlatform.Training.Kubernetes.TestCluster.Admission.QuotaUsage;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Kueue;

/// <summary>The outcome of fitting a workload into a ClusterQueue: the pod set assignments, or why it does not fit.</summary>
/// <param name="Assignments">The <c>status.admission.podSetAssignments</c> to write (empty when it does not fit).</param>
/// <param name="Message">Null when it fits; else Kueue's pending message.</param>
internal sealed record FlavorAssignment(JsonArray Assignments, string? Message)
{
    public bool Fits => Message is null;
}

/// <summary>
/// Kueue's flavor assignment without borrowing: for each pod set, each requested resource's group tries its flavors
/// in order and takes the first one where every requested resource of the group fits the unused nominal quota.
/// </summary>
internal static class FlavorAssigner
{
    public static FlavorAssignment Assign(ClusterQueueInfo queue, QuotaLedger ledger, WorkloadInfo workload, IReadOnlyDictionary<string, JsonObject> flavors)
    {
        var taken = new QuotaLedger();
        var assignments = new JsonArray();
        var podSetTemplates = workload.Object.ObjOrNull("spec").ArrOrNull("podSets").Objects().ToList();
        for (var i = 0; i < workload.PodSets.Count; i++)
        {
            var podSet = workload.PodSets[i];
            var requests = podSet.Total();
            if (queue.Groups.Any(g => g.CoveredResources.Contains("pods")))
            {
                // the pods resource is counted only where a queue sets a quota for it
                requests["pods"] = podSet.Count;
            }

            var nodeSelector = i < podSetTemplates.Count ? Store.Json.StringMap(podSetTemplates[i], "template", "spec", "nodeSelector") : new Dictionary<string, string>();
            var chosen = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var resource in requests.Keys.Order(StringComparer.Ordinal))
            {
                if (!queue.Groups.Any(g => g.CoveredResources.Contains(resource)))
                {
                    return Fail($"couldn't assign flavors to pod set {podSet.Name}: resource {resource} unavailable in ClusterQueue");
                }
            }

            foreach (var group in queue.Groups)
            {
                var wanted = group.CoveredResources.Where(r => requests.GetValueOrDefault(r) > 0).ToList();
                if (wanted.Count == 0)
                {
                    continue;
                }

                var reasons = new List<string>();
                FlavorQuota? fit = null;
                foreach (var flavor in group.Flavors)
                {
                    if (Conflicts(flavors.GetValueOrDefault(flavor.Name), nodeSelector))
                    {
                        reasons.Add($"flavor {flavor.Name} doesn't match node affinity");
                        continue;
                    }

                    var reason = Shortfall(flavor, wanted, requests, ledger, taken);
                    if (reason is null)
                    {
                        fit = flavor;
                        break;
                    }

                    reasons.Add(reason);
                }

                if (fit is null)
                {
                    return Fail($"couldn't assign flavors to pod set {podSet.Name}: {string.Join(", ", reasons)}");
                }

                foreach (var resource in wanted)
                {
                    chosen[resource] = fit.Name;
                    taken.Add(fit.Name, resource, requests[resource]);
                }
            }

            assignments.Add(new JsonObject
            {
                ["name"] = podSet.Name,
                ["flavors"] = new JsonObject(chosen.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => KeyValuePair.Create(c.Key, (JsonNode?)c.Value))),
                ["resourceUsage"] = new JsonObject(requests.Where(r => chosen.ContainsKey(r.Key)).OrderBy(r => r.Key, StringComparer.Ordinal)
                    .Select(r => KeyValuePair.Create(r.Key, (JsonNode?)QuotaUsage.Format(r.Key, r.Value)))),
                ["count"] = podSet.Count,
            });
        }

        return new FlavorAssignment(assignments, null);
    }

    /// <summary>Node labels of the flavors a pod set got, to inject into the Job's pod template nodeSelector.</summary>
    public static Dictionary<string, string> NodeLabels(JsonObject podSetAssignment, IReadOnlyDictionary<string, JsonObject> flavors)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (_, flavorName) in podSetAssignment.ObjOrNull("flavors") ?? [])
        {
            if (flavorName is not null && flavors.TryGetValue(flavorName.ToString(), out var flavor))
            {
                foreach (var (key, value) in Store.Json.StringMap(flavor, "spec", "nodeLabels"))
                {
                    labels[key] = value;
                }
            }
        }

        return labels;
    }

    private static FlavorAssignment Fail(string message) => new([], message);

    /// <summary>A flavor whose node labels contradict the pod set's own nodeSelector cannot place its pods.</summary>
    private static bool Conflicts(JsonObject? flavor, IReadOnlyDictionary<string, string> nodeSelector)
    {
        foreach (var (key, value) in Store.Json.StringMap(flavor, "spec", "nodeLabels"))
        {
            if (nodeSelector.TryGetValue(key, out var wanted) && wanted != value)
            {
                return true;
            }
        }

        return false;
    }

    private static string? Shortfall(FlavorQuota flavor, List<string> wanted, Dictionary<string, decimal> requests, QuotaLedger ledger, QuotaLedger taken)
    {
        foreach (var resource in wanted)
        {
            var request = requests[resource];
            var nominal = flavor.Nominal.GetValueOrDefault(resource);
            if (request > nominal)
            {
                return $"insufficient quota for {resource} in flavor {flavor.Name}, request > maximum capacity ({QuotaUsage.Format(resource, request)} > {QuotaUsage.Format(resource, nominal)})";
            }

            var used = ledger.Used(flavor.Name, resource) + taken.Used(flavor.Name, resource);
            if (used + request > nominal)
            {
                return $"insufficient unused quota for {resource} in flavor {flavor.Name}, {QuotaUsage.Format(resource, used + request - nominal)} more needed";
            }
        }

        return null;
    }
}
