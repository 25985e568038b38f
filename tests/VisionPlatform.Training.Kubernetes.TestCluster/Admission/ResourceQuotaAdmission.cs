using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Admission;

/// <summary>
/// The ResourceQuota admission plugin for pods, Jobs, and the object counts of ConfigMaps, Secrets and Services. For every quota in the namespace (by name) that constrains what
/// the new object uses: first the "must specify" rule (a quota on cpu or memory needs every container to say it:
/// <c>failed quota: q: must specify limits.cpu for: main</c>), then the limit
/// (<c>exceeded quota: q, requested: requests.nvidia.com/gpu=1, used: requests.nvidia.com/gpu=1, limited: requests.nvidia.com/gpu=1</c>).
/// Usage is counted from the store at admission (the real plugin reads <c>status.used</c>, which the quota controller
/// keeps up to date, and adds what it admits). Quotas with scopes or a scopeSelector are not enforced.
/// </summary>
internal sealed class ResourceQuotaAdmission : IAdmissionPlugin
{
    public void Validate(AdmissionRequest request)
    {
        var quotas = request.Store.List(ResourceType.ResourceQuotas, request.Namespace).Items
            .Where(q => Json.Walk(q, "spec", "scopes") is not JsonArray { Count: > 0 } && Json.Walk(q, "spec", "scopeSelector") is null)
            .OrderBy(q => Json.GetString(q, "metadata", "name"), StringComparer.Ordinal)
            .ToList();
        if (quotas.Count == 0)
        {
            return;
        }

        var now = request.Time.GetUtcNow();
        var delta = request.Type == ResourceType.Pods
            ? QuotaUsage.OfPod(request.Object, now)
            : new Dictionary<string, decimal>(StringComparer.Ordinal) { [QuotaUsage.CountName(request.Type)] = 1 };
        if (QuotaUsage.LegacyCountName(request.Type) is { } legacy)
        {
            delta[legacy] = 1;
        }

        if (request.Type == ResourceType.Pods)
        {
            foreach (var quota in quotas)
            {
                var hard = Hard(quota);
                if (MissingRequirements(request.Object, hard.Select(h => h.Key)) is { } missing)
                {
                    throw request.Forbidden($"failed quota: {Json.GetString(quota, "metadata", "name")}: must specify {missing}");
                }
            }
        }

        foreach (var quota in quotas)
        {
            var hard = Hard(quota);
            var constrained = delta.Keys.Where(k => hard.ContainsKey(k)).ToList();
            if (constrained.Count == 0)
            {
                continue;
            }

            var used = QuotaUsage.OfNamespace(request.Store, request.Namespace, constrained, now);
            var exceeded = constrained.Where(r => used[r] + delta[r] > QuotaUsage.Parse(hard[r])).ToList();
            if (exceeded.Count == 0)
            {
                continue;
            }

            var requested = QuotaUsage.PrettyPrint(exceeded.Select(r => KeyValuePair.Create(r, QuotaUsage.Format(r, delta[r]))));
            var usedText = QuotaUsage.PrettyPrint(exceeded.Select(r => KeyValuePair.Create(r, QuotaUsage.Format(r, used[r]))));
            var limited = QuotaUsage.PrettyPrint(exceeded.Select(r => KeyValuePair.Create(r, hard[r]?.ToString() ?? "0")));
            throw request.Forbidden(
                $"exceeded quota: {Json.GetString(quota, "metadata", "name")}, requested: {requested}, used: {usedText}, limited: {limited}");
        }
    }

    private static JsonObject Hard(JsonObject quota) => Json.Walk(quota, "spec", "hard") as JsonObject ?? [];

    /// <summary>
    /// podEvaluator.Constraints: when a quota names cpu or memory (requests, limits or bare), every container must set
    /// them; the message lists each missing resource and its containers (<c>limits.cpu for: a,b; requests.memory for: a</c>).
    /// </summary>
    private static string? MissingRequirements(JsonObject pod, IEnumerable<string> hard)
    {
        var required = hard.Where(QuotaUsage.RequiredForPods.Contains).ToList();
        if (required.Count == 0)
        {
            return null;
        }

        var missing = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        var spec = pod["spec"] as JsonObject ?? [];
        foreach (var container in new[] { "containers", "initContainers" }.SelectMany(l => (spec[l] as JsonArray ?? []).OfType<JsonObject>()))
        {
            var has = new HashSet<string>(StringComparer.Ordinal);
            foreach (var name in (Json.Walk(container, "resources", "requests") as JsonObject ?? []).Select(p => p.Key))
            {
                has.Add(name);
                has.Add("requests." + name);
            }

            foreach (var name in (Json.Walk(container, "resources", "limits") as JsonObject ?? []).Select(p => p.Key))
            {
                has.Add("limits." + name);
            }

            foreach (var resource in required.Where(r => !has.Contains(r)))
            {
                if (!missing.TryGetValue(resource, out var names))
                {
                    names = new SortedSet<string>(StringComparer.Ordinal);
                    missing[resource] = names;
                }

                names.Add(Json.GetString(container, "name") ?? "");
            }
        }

        return missing.Count == 0 ? null : string.Join("; ", missing.Select(m => $"{m.Key} for: {string.Join(",", m.Value)}"));
    }
}
