using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Controllers;

/// <summary>One pod behind a Service, as the EndpointSlice controller describes it.</summary>
/// <param name="Ip">The pod's IP (<c>status.podIP</c>).</param>
/// <param name="Hostname">
/// The pod's <c>spec.hostname</c> when its <c>spec.subdomain</c> names this Service (same namespace), else null: only
/// those endpoints get per-pod DNS names.
/// </param>
/// <param name="Ready">Ready (or the Service publishes not-ready addresses) and not terminating.</param>
/// <param name="Serving">Ready regardless of terminating.</param>
/// <param name="Terminating">The pod has a deletionTimestamp.</param>
/// <param name="Pod">The pod.</param>
internal sealed record ServiceEndpoint(string Ip, string? Hostname, bool Ready, bool Serving, bool Terminating, JsonObject Pod);

/// <summary>
/// Which pods a Service selects and how they appear as endpoints (upstream <c>ShouldPodBeInEndpoints</c> and the
/// EndpointSlice controller's conditions): terminal pods and pods without an IP never; terminating pods only when the
/// Service publishes not-ready addresses; <c>ready</c> is true for every endpoint of a Service with
/// <c>publishNotReadyAddresses</c>, else when the pod is Ready and not terminating.
/// </summary>
internal static class ServiceEndpoints
{
    /// <summary>The Service's selector; null when it has none (such a Service gets no managed endpoints).</summary>
    public static IReadOnlyDictionary<string, string>? Selector(JsonObject service)
    {
        var selector = service.ObjOrNull("spec").ObjOrNull("selector");
        if (selector is null || selector.Count == 0)
        {
            return null;
        }

        return selector.ToDictionary(p => p.Key, p => p.Value is JsonValue v && v.TryGetValue<string>(out var s) ? s : string.Empty, StringComparer.Ordinal);
    }

    /// <summary>Whether the Service is headless (<c>clusterIP: None</c>).</summary>
    public static bool IsHeadless(JsonObject service) => service.ObjOrNull("spec").Str("clusterIP") == "None";

    /// <summary>The endpoints of <paramref name="service"/> among <paramref name="pods"/> (any namespace; filtered here).</summary>
    public static IReadOnlyList<ServiceEndpoint> For(JsonObject service, IEnumerable<JsonObject> pods)
    {
        if (Selector(service) is not { } selector)
        {
            return [];
        }

        var ns = service.Namespace();
        var name = service.Name();
        var publishNotReady = service.ObjOrNull("spec").Bool("publishNotReadyAddresses") == true;
        var result = new List<ServiceEndpoint>();
        foreach (var pod in pods)
        {
            if (pod.Namespace() != ns || pod.IsTerminal() || pod.ObjOrNull("status").Str("podIP") is not { Length: > 0 } ip)
            {
                continue;
            }

            var labels = pod.ObjOrNull("metadata").ObjOrNull("labels");
            if (!selector.All(s => labels.Str(s.Key) == s.Value))
            {
                continue;
            }

            var terminating = pod.HasDeletionTimestamp();
            if (terminating && !publishNotReady)
            {
                continue;
            }

            var podReady = pod.ConditionIsTrue("Ready");
            var spec = pod.ObjOrNull("spec");
            var hostname = spec.Str("hostname") is { Length: > 0 } h && spec.Str("subdomain") == name ? h : null;
            result.Add(new ServiceEndpoint(ip, hostname, publishNotReady || (podReady && !terminating), publishNotReady || podReady, terminating, pod));
        }

        return result;
    }
}
