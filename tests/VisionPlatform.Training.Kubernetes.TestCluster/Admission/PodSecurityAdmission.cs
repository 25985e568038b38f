using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Admission;

/// <summary>
/// Pod Security admission from the namespace labels <c>pod-security.kubernetes.io/enforce</c> and <c>/warn</c>
/// (privileged, baseline, restricted; no label is privileged). Pods that violate the enforced level are refused:
/// <c>violates PodSecurity "restricted:latest": …</c>. Workload objects (Jobs) are never refused: they get a warning
/// (<c>would violate PodSecurity …</c>) from the warn level, which defaults to the enforce level, and their pods are
/// refused when the controller creates them.
/// </summary>
internal sealed class PodSecurityAdmission : IAdmissionPlugin
{
    private const string Prefix = "pod-security.kubernetes.io/";

    public void Validate(AdmissionRequest request)
    {
        var labels = Json.StringMap(request.Store.Get(ResourceType.Namespaces, null, request.Namespace), "metadata", "labels");
        var enforce = Policy(labels, "enforce", null);
        var warn = Policy(labels, "warn", enforce);
        if (request.Type == ResourceType.Pods)
        {
            var spec = request.Object["spec"] as JsonObject ?? [];
            if (enforce is { } e && Evaluate(e.Level, spec) is { Length: > 0 } violations)
            {
                throw request.Forbidden($"violates PodSecurity \"{e.Level}:{e.Version}\": {violations}");
            }

            if (warn is { } w && Evaluate(w.Level, spec) is { Length: > 0 } warnings)
            {
                request.Warn($"would violate PodSecurity \"{w.Level}:{w.Version}\": {warnings}");
            }
        }
        else if (request.Type == ResourceType.Jobs && warn is { } w
            && Json.Walk(request.Object, "spec", "template", "spec") is JsonObject template
            && Evaluate(w.Level, template) is { Length: > 0 } jobWarnings)
        {
            request.Warn($"would violate PodSecurity \"{w.Level}:{w.Version}\": {jobWarnings}");
        }
    }

    private static string Evaluate(string level, JsonObject spec) =>
        string.Join(", ", PodSecurityChecks.Evaluate(level, spec).Select(v => v.Detail.Length == 0 ? v.Reason : $"{v.Reason} ({v.Detail})"));

    /// <summary>The level and version of one mode; null for privileged (nothing to check).</summary>
    private static (string Level, string Version)? Policy(IReadOnlyDictionary<string, string> labels, string mode, (string Level, string Version)? fallback)
    {
        if (!labels.TryGetValue(Prefix + mode, out var level))
        {
            return fallback;
        }

        var version = labels.TryGetValue(Prefix + mode + "-version", out var v) && v.Length > 0 ? v : "latest";
        return level is "baseline" or "restricted" ? (level, version) : null;
    }
}
