using System.Globalization;
using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Admission;

/// <summary>
/// The LimitRanger admission plugin for pods. Mutating: every Container item's <c>defaultRequest</c> and <c>default</c>
/// fill the requests and limits a container leaves out, recorded in the <c>kubernetes.io/limit-ranger</c> annotation.
/// Validating: <c>min</c>, <c>max</c> and <c>maxLimitRequestRatio</c> per Container and per Pod (sums), with upstream's
/// messages (<c>maximum cpu usage per Container is 2, but limit is 4</c>); several violations print as <c>[a, b]</c>.
/// </summary>
internal sealed class LimitRangerAdmission : IAdmissionPlugin
{
    private const string Annotation = "kubernetes.io/limit-ranger";

    public void Mutate(AdmissionRequest request)
    {
        if (request.Type != ResourceType.Pods || request.Object["spec"] is not JsonObject spec)
        {
            return;
        }

        var items = Items(request, "Container").ToList();
        if (items.Count == 0)
        {
            return;
        }

        // defaultContainerResourceRequirements: the last LimitRange's item wins per resource
        var defaultRequests = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        var defaultLimits = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            Merge(defaultRequests, item["defaultRequest"] as JsonObject);
            Merge(defaultLimits, item["default"] as JsonObject);
        }

        var notes = new List<string>();
        foreach (var (list, kind) in new[] { ("containers", "container"), ("initContainers", "init container") })
        {
            foreach (var container in (spec[list] as JsonArray ?? []).OfType<JsonObject>())
            {
                var resources = Child(container, "resources");
                var setLimits = Fill(Child(resources, "limits"), defaultLimits);
                var setRequests = Fill(Child(resources, "requests"), defaultRequests);
                var name = Json.GetString(container, "name");
                if (setRequests.Count > 0)
                {
                    notes.Add($"{string.Join(", ", setRequests)} request for {kind} {name}");
                }

                if (setLimits.Count > 0)
                {
                    notes.Add($"{string.Join(", ", setLimits)} limit for {kind} {name}");
                }
            }
        }

        if (notes.Count > 0)
        {
            Child(Json.Metadata(request.Object), "annotations")[Annotation] = "LimitRanger plugin set: " + string.Join("; ", notes);
        }
    }

    public void Validate(AdmissionRequest request)
    {
        if (request.Type != ResourceType.Pods)
        {
            return;
        }

        var spec = request.Object["spec"] as JsonObject ?? [];
        var errors = new List<string>();
        foreach (var range in request.Store.List(ResourceType.LimitRanges, request.Namespace).Items)
        {
            foreach (var item in (Json.Walk(range, "spec", "limits") as JsonArray ?? []).OfType<JsonObject>())
            {
                switch (Json.GetString(item, "type"))
                {
                    case "Container":
                        foreach (var container in new[] { "containers", "initContainers" }.SelectMany(l => (spec[l] as JsonArray ?? []).OfType<JsonObject>()))
                        {
                            Check(item, "Container", Amounts(Json.Walk(container, "resources", "requests")), Amounts(Json.Walk(container, "resources", "limits")), errors);
                        }

                        break;
                    case "Pod":
                        Check(item, "Pod", PodTotal(spec, "requests"), PodTotal(spec, "limits"), errors);
                        break;
                }
            }
        }

        var distinct = errors.Distinct(StringComparer.Ordinal).ToList();
        if (distinct.Count > 0)
        {
            throw request.Forbidden(distinct.Count == 1 ? distinct[0] : "[" + string.Join(", ", distinct) + "]");
        }
    }

    private static IEnumerable<JsonObject> Items(AdmissionRequest request, string type) =>
        request.Store.List(ResourceType.LimitRanges, request.Namespace).Items
            .SelectMany(r => (Json.Walk(r, "spec", "limits") as JsonArray ?? []).OfType<JsonObject>())
            .Where(i => Json.GetString(i, "type") == type);

    private static void Merge(Dictionary<string, JsonNode?> into, JsonObject? from)
    {
        foreach (var (name, value) in from ?? [])
        {
            into[name] = value;
        }
    }

    private static List<string> Fill(JsonObject target, Dictionary<string, JsonNode?> defaults)
    {
        var set = new List<string>();
        foreach (var (name, value) in defaults)
        {
            if (!target.ContainsKey(name))
            {
                target[name] = value?.DeepClone();
                set.Add(name);
            }
        }

        set.Sort(StringComparer.Ordinal);
        return set;
    }

    private static JsonObject Child(JsonObject parent, string name)
    {
        if (parent[name] is not JsonObject child)
        {
            child = [];
            parent[name] = child;
        }

        return child;
    }

    private static Dictionary<string, (decimal Value, string Text)> Amounts(JsonNode? list) =>
        (list as JsonObject ?? []).ToDictionary(p => p.Key, p => (QuotaUsage.Parse(p.Value), p.Value?.ToString() ?? ""), StringComparer.Ordinal);

    private static Dictionary<string, (decimal Value, string Text)> PodTotal(JsonObject spec, string section)
    {
        var totals = new Dictionary<string, decimal>(StringComparer.Ordinal);
        foreach (var container in (spec["containers"] as JsonArray ?? []).OfType<JsonObject>())
        {
            foreach (var (name, (value, _)) in Amounts(Json.Walk(container, "resources", section)))
            {
                totals[name] = totals.GetValueOrDefault(name) + value;
            }
        }

        foreach (var init in (spec["initContainers"] as JsonArray ?? []).OfType<JsonObject>())
        {
            foreach (var (name, (value, _)) in Amounts(Json.Walk(init, "resources", section)))
            {
                totals[name] = Math.Max(totals.GetValueOrDefault(name), value);
            }
        }

        return totals.ToDictionary(t => t.Key, t => (t.Value, QuotaUsage.Format(t.Key, t.Value)), StringComparer.Ordinal);
    }

    /// <summary>minConstraint, maxConstraint and limitRequestRatioConstraint of limitranger.go, resources in name order.</summary>
    private static void Check(
        JsonObject item, string limitType, Dictionary<string, (decimal Value, string Text)> requests,
        Dictionary<string, (decimal Value, string Text)> limits, List<string> errors)
    {
        foreach (var (resource, enforced) in Sorted(item["min"]))
        {
            var min = QuotaUsage.Parse(enforced);
            if (!requests.TryGetValue(resource, out var request))
            {
                errors.Add($"minimum {resource} usage per {limitType} is {enforced}.  No request is specified");
            }
            else if (request.Value < min)
            {
                errors.Add($"minimum {resource} usage per {limitType} is {enforced}, but request is {request.Text}");
            }
            else if (limits.TryGetValue(resource, out var limit) && limit.Value < min)
            {
                errors.Add($"minimum {resource} usage per {limitType} is {enforced}, but limit is {limit.Text}");
            }
        }

        foreach (var (resource, enforced) in Sorted(item["max"]))
        {
            var max = QuotaUsage.Parse(enforced);
            if (!limits.TryGetValue(resource, out var limit))
            {
                errors.Add($"maximum {resource} usage per {limitType} is {enforced}.  No limit is specified");
            }
            else if (limit.Value > max)
            {
                errors.Add($"maximum {resource} usage per {limitType} is {enforced}, but limit is {limit.Text}");
            }
            else if (requests.TryGetValue(resource, out var request) && request.Value > max)
            {
                errors.Add($"maximum {resource} usage per {limitType} is {enforced}, but request is {request.Text}");
            }
        }

        foreach (var (resource, enforced) in Sorted(item["maxLimitRequestRatio"]))
        {
            var hasRequest = requests.TryGetValue(resource, out var request) && request.Value != 0;
            var hasLimit = limits.TryGetValue(resource, out var limit) && limit.Value != 0;
            if (!hasRequest)
            {
                errors.Add($"{resource} max limit to request ratio per {limitType} is {enforced}, but no request is specified or request is 0");
            }
            else if (!hasLimit)
            {
                errors.Add($"{resource} max limit to request ratio per {limitType} is {enforced}, but no limit is specified or limit is 0");
            }
            else if (limit.Value / request.Value > QuotaUsage.Parse(enforced))
            {
                var ratio = (double)(limit.Value / request.Value);
                errors.Add($"{resource} max limit to request ratio per {limitType} is {enforced}, but provided ratio is {ratio.ToString("F6", CultureInfo.InvariantCulture)}");
            }
        }
    }

    private static IEnumerable<(string Resource, string Value)> Sorted(JsonNode? list) =>
        (list as JsonObject ?? []).OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => (p.Key, p.Value?.ToString() ?? ""));
}
