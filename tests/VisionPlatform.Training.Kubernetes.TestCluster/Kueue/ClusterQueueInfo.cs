using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;
using QuotaUsage = VisionPlatform.Training.Kubernetes.TestCluster.Admission.QuotaUsage;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Kueue;

/// <summary>One flavor of a resource group with its nominal quota per resource.</summary>
internal sealed record FlavorQuota(string Name, IReadOnlyDictionary<string, decimal> Nominal);

/// <summary>A resource group: the resources it covers and its flavors in the order they are tried.</summary>
internal sealed record ResourceGroup(IReadOnlyList<string> CoveredResources, IReadOnlyList<FlavorQuota> Flavors);

/// <summary>A stored ClusterQueue read once per pass: its quotas and policies.</summary>
internal sealed class ClusterQueueInfo
{
    public ClusterQueueInfo(JsonObject obj)
    {
        Object = obj;
        var spec = obj.ObjOrNull("spec");
        Name = obj.Name();
        StrictFifo = spec.Str("queueingStrategy") == "StrictFIFO";
        WithinClusterQueue = spec.ObjOrNull("preemption").Str("withinClusterQueue") ?? "Never";
        NamespaceSelector = spec.ObjOrNull("namespaceSelector");
        Groups = spec.ArrOrNull("resourceGroups").Objects()
            .Select(g => new ResourceGroup(
                g.Strings("coveredResources"),
                g.ArrOrNull("flavors").Objects()
                    .Select(f => new FlavorQuota(f.Str("name") ?? "", f.ArrOrNull("resources").Objects()
                        .GroupBy(r => r.Str("name") ?? "", StringComparer.Ordinal)
                        .ToDictionary(r => r.Key, r => QuotaUsage.Parse(r.First()["nominalQuota"]), StringComparer.Ordinal)))
                    .ToList()))
            .ToList();
    }

    public JsonObject Object { get; }

    public string Name { get; }

    public bool StrictFifo { get; }

    /// <summary><c>spec.preemption.withinClusterQueue</c>: Never, LowerPriority or LowerOrNewerEqualPriority.</summary>
    public string WithinClusterQueue { get; }

    /// <summary>Null selects no namespace (Kueue's default); an empty selector selects every namespace.</summary>
    public JsonObject? NamespaceSelector { get; }

    public IReadOnlyList<ResourceGroup> Groups { get; }

    /// <summary>The flavors the queue names that do not exist (the queue is inactive while there are any).</summary>
    public IReadOnlyList<string> MissingFlavors(IReadOnlyDictionary<string, JsonObject> flavors) =>
        Groups.SelectMany(g => g.Flavors).Select(f => f.Name).Where(n => !flavors.ContainsKey(n)).Distinct(StringComparer.Ordinal).ToList();

    public bool SelectsNamespace(JsonObject? ns) =>
        NamespaceSelector is not null
        && Validation.JobStrategy.SelectorMatches(NamespaceSelector, Store.Json.StringMap(ns, "metadata", "labels"));
}

/// <summary>Quota in use per flavor and resource (the <c>flavorsUsage</c> of a ClusterQueue).</summary>
internal sealed class QuotaLedger
{
    private readonly Dictionary<(string Flavor, string Resource), decimal> _used = [];

    public decimal Used(string flavor, string resource) => _used.GetValueOrDefault((flavor, resource));

    public void Add(string flavor, string resource, decimal amount) => _used[(flavor, resource)] = Used(flavor, resource) + amount;

    public void Add(WorkloadInfo workload, int sign = 1)
    {
        foreach (var (flavor, resource, amount) in workload.AdmittedUsage())
        {
            Add(flavor, resource, sign * amount);
        }
    }

    public QuotaLedger Copy()
    {
        var copy = new QuotaLedger();
        foreach (var (key, value) in _used)
        {
            copy._used[key] = value;
        }

        return copy;
    }
}
