using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Scheduling;

/// <summary>The outcome of scheduling one pod: the chosen node, or the scheduler's "0/N nodes are available" message.</summary>
/// <param name="NodeName">The node the pod fits on, or null.</param>
/// <param name="Message">When it fits nowhere, the PodScheduled=False message exactly as kube-scheduler words it.</param>
internal sealed record SchedulingResult(string? NodeName, string? Message);

/// <summary>
/// kube-scheduler's filter phase as a pure function. Filters run per node in the default plugin order and stop at the
/// first that rejects the node: NodeUnschedulable, TaintToleration, NodeAffinity (nodeSelector and required node
/// affinity), NodeResourcesFit. The failure message is the scheduler's FitError text: a histogram of reasons sorted as
/// strings, then the preemption post-filter's own histogram (no pod here has a lower priority than another, so
/// resolvable nodes report "No preemption victims found for incoming pod").
/// </summary>
internal static class PodFit
{
    internal const string ReasonUnschedulableNode = "node(s) were unschedulable";
    internal const string ReasonAffinity = "node(s) didn't match Pod's node affinity/selector";
    internal const string ReasonTooManyPods = "Too many pods";
    internal const string PreemptionNotHelpful = "Preemption is not helpful for scheduling";
    internal const string PreemptionNoVictims = "No preemption victims found for incoming pod";

    /// <param name="pod">The pending pod.</param>
    /// <param name="nodes">All nodes.</param>
    /// <param name="boundPods">Pods already bound to a node (any namespace); terminated ones are ignored.</param>
    public static SchedulingResult Schedule(JsonObject pod, IReadOnlyList<SimulatedNode> nodes, IEnumerable<JsonObject> boundPods)
    {
        ArgumentNullException.ThrowIfNull(pod);
        ArgumentNullException.ThrowIfNull(nodes);
        if (nodes.Count == 0)
        {
            return new SchedulingResult(null, "no nodes available to schedule pods");
        }

        var usage = Usage(boundPods);
        var requests = PodResources.Requests(pod);
        var reasons = new Dictionary<string, int>(StringComparer.Ordinal);
        var preemption = new Dictionary<string, int>(StringComparer.Ordinal);
        SimulatedNode? best = null;
        decimal bestFree = decimal.MinValue;
        foreach (var node in nodes)
        {
            var (failures, resolvable) = Filter(pod, node, requests, usage.GetValueOrDefault(node.Name));
            if (failures.Count == 0)
            {
                var free = FreeScore(node, usage.GetValueOrDefault(node.Name));
                if (best is null || free > bestFree)
                {
                    best = node;
                    bestFree = free;
                }

                continue;
            }

            foreach (var reason in failures)
            {
                reasons[reason] = reasons.GetValueOrDefault(reason) + 1;
            }

            var preemptionReason = resolvable ? PreemptionNoVictims : PreemptionNotHelpful;
            preemption[preemptionReason] = preemption.GetValueOrDefault(preemptionReason) + 1;
        }

        if (best is not null)
        {
            return new SchedulingResult(best.Name, null);
        }

        var message = $"0/{nodes.Count} nodes are available: {Histogram(reasons)}. preemption: 0/{nodes.Count} nodes are available: {Histogram(preemption)}.";
        return new SchedulingResult(null, message);
    }

    private static string Histogram(Dictionary<string, int> reasons)
    {
        var items = reasons.Select(r => $"{r.Value} {r.Key}").ToList();
        items.Sort(StringComparer.Ordinal);
        return string.Join(", ", items);
    }

    private static (List<string> Failures, bool Resolvable) Filter(JsonObject pod, SimulatedNode node, Dictionary<string, decimal> requests, NodeUsage? used)
    {
        var tolerations = pod.ObjOrNull("spec").ArrOrNull("tolerations").Objects().ToList();
        if (node.Unschedulable && !Tolerates(tolerations, new NodeTaint("node.kubernetes.io/unschedulable", string.Empty, "NoSchedule")))
        {
            return ([ReasonUnschedulableNode], false);
        }

        var untolerated = node.Taints.FirstOrDefault(t => t.Effect is "NoSchedule" or "NoExecute" && !Tolerates(tolerations, t));
        if (untolerated is not null)
        {
            return ([$"node(s) had untolerated taint {{{untolerated.Key}: {untolerated.Value}}}"], false);
        }

        if (!MatchesNodeSelector(pod, node.EffectiveLabels()))
        {
            return ([ReasonAffinity], false);
        }

        var failures = new List<string>();
        var podCount = used?.Pods ?? 0;
        if (node.Allocatable.TryGetValue("pods", out var maxPods) && podCount + 1 > PodResources.Parse(maxPods))
        {
            failures.Add(ReasonTooManyPods);
        }

        foreach (var (resource, amount) in requests.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            if (amount <= 0)
            {
                continue;
            }

            var allocatable = node.Allocatable.TryGetValue(resource, out var quantity) ? PodResources.Parse(quantity) : 0m;
            var inUse = used?.Requested.GetValueOrDefault(resource) ?? 0m;
            if (inUse + amount > allocatable)
            {
                failures.Add($"Insufficient {resource}");
            }
        }

        return (failures, true);
    }

    private static bool Tolerates(List<JsonObject> tolerations, NodeTaint taint) => tolerations.Exists(t =>
    {
        var effect = t.Str("effect") ?? string.Empty;
        if (effect.Length > 0 && effect != taint.Effect)
        {
            return false;
        }

        var key = t.Str("key") ?? string.Empty;
        var op = t.Str("operator") ?? "Equal";
        if (key.Length == 0)
        {
            return op == "Exists";
        }

        if (key != taint.Key)
        {
            return false;
        }

        return op == "Exists" || (t.Str("value") ?? string.Empty) == taint.Value;
    });

    private static bool MatchesNodeSelector(JsonObject pod, IReadOnlyDictionary<string, string> labels)
    {
        var spec = pod.ObjOrNull("spec");
        if (spec.ObjOrNull("nodeSelector") is { } selector)
        {
            foreach (var (key, value) in selector)
            {
                if (!labels.TryGetValue(key, out var actual) || actual != value?.ToString())
                {
                    return false;
                }
            }
        }

        var terms = spec.ObjOrNull("affinity").ObjOrNull("nodeAffinity").ObjOrNull("requiredDuringSchedulingIgnoredDuringExecution")
            .ArrOrNull("nodeSelectorTerms").Objects().ToList();
        return terms.Count == 0 || terms.Exists(term => term.ArrOrNull("matchExpressions").Objects().All(e => MatchesExpression(e, labels)));
    }

    private static bool MatchesExpression(JsonObject expression, IReadOnlyDictionary<string, string> labels)
    {
        var key = expression.Str("key") ?? string.Empty;
        var values = expression.Strings("values");
        var has = labels.TryGetValue(key, out var actual);
        return expression.Str("operator") switch
        {
            "In" => has && values.Contains(actual!),
            "NotIn" => !has || !values.Contains(actual!),
            "Exists" => has,
            "DoesNotExist" => !has,
            "Gt" => has && long.TryParse(actual, out var g) && values.Count == 1 && long.TryParse(values[0], out var gv) && g > gv,
            "Lt" => has && long.TryParse(actual, out var l) && values.Count == 1 && long.TryParse(values[0], out var lv) && l < lv,
            _ => false,
        };
    }

    private static decimal FreeScore(SimulatedNode node, NodeUsage? used)
    {
        // LeastAllocated-like: prefer the node with the most free cpu and memory (as fractions)
        decimal Fraction(string resource)
        {
            if (!node.Allocatable.TryGetValue(resource, out var quantity))
            {
                return 0m;
            }

            var allocatable = PodResources.Parse(quantity);
            return allocatable <= 0 ? 0m : (allocatable - (used?.Requested.GetValueOrDefault(resource) ?? 0m)) / allocatable;
        }

        return Fraction("cpu") + Fraction("memory");
    }

    private static Dictionary<string, NodeUsage> Usage(IEnumerable<JsonObject> boundPods)
    {
        var usage = new Dictionary<string, NodeUsage>(StringComparer.Ordinal);
        foreach (var pod in boundPods)
        {
            var nodeName = pod.ObjOrNull("spec").Str("nodeName");
            if (string.IsNullOrEmpty(nodeName) || pod.IsTerminal())
            {
                continue;
            }

            if (!usage.TryGetValue(nodeName, out var node))
            {
                node = new NodeUsage();
                usage[nodeName] = node;
            }

            node.Pods++;
            foreach (var (resource, amount) in PodResources.Requests(pod))
            {
                node.Requested[resource] = node.Requested.GetValueOrDefault(resource) + amount;
            }
        }

        return usage;
    }

    private sealed class NodeUsage
    {
        public int Pods { get; set; }

        public Dictionary<string, decimal> Requested { get; } = new(StringComparer.Ordinal);
    }
}
