using System.Text.Json;
using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Validation;

/// <summary>
/// Decoding and defaulting of pod specs as the apiserver does it (SetDefaults_PodSpec, SetDefaults_Container,
/// SetDefaults_Pod): quantities are parsed (400 when malformed) and canonicalized, then defaults filled in.
/// </summary>
public static class PodDefaults
{
    /// <summary>Parses and canonicalizes every quantity in a pod spec; a malformed one is a 400 naming the kind.</summary>
    public static void DecodeQuantities(JsonObject? podSpec, ResourceType type)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (podSpec is null)
        {
            return;
        }

        foreach (var container in Containers(podSpec))
        {
            foreach (var section in new[] { "limits", "requests" })
            {
                if (Json.Walk(container, "resources", section) is JsonObject list)
                {
                    CanonicalizeAll(list, type);
                }
            }
        }

        if (podSpec["overhead"] is JsonObject overhead)
        {
            CanonicalizeAll(overhead, type);
        }

        if (podSpec["volumes"] is JsonArray volumes)
        {
            foreach (var volume in volumes.OfType<JsonObject>())
            {
                if (Json.Walk(volume, "emptyDir") is JsonObject emptyDir && emptyDir["sizeLimit"] is { } limit)
                {
                    emptyDir["sizeLimit"] = Canonical(limit, type);
                }
            }
        }
    }

    /// <summary>SetDefaults_PodSpec and SetDefaults_Container (what a pod template gets).</summary>
    public static void ApplySpecDefaults(JsonObject podSpec)
    {
        ArgumentNullException.ThrowIfNull(podSpec);
        SetIfMissing(podSpec, "restartPolicy", "Always");
        SetIfMissing(podSpec, "terminationGracePeriodSeconds", 30);
        SetIfMissing(podSpec, "dnsPolicy", "ClusterFirst");
        SetIfMissing(podSpec, "securityContext", new JsonObject());
        SetIfMissing(podSpec, "schedulerName", "default-scheduler");
        foreach (var container in Containers(podSpec))
        {
            SetIfMissing(container, "terminationMessagePath", "/dev/termination-log");
            SetIfMissing(container, "terminationMessagePolicy", "File");
            SetIfMissing(container, "imagePullPolicy", DefaultPullPolicy(Json.GetString(container, "image") ?? ""));
            SetIfMissing(container, "resources", new JsonObject());
            if (container["ports"] is JsonArray ports)
            {
                foreach (var port in ports.OfType<JsonObject>())
                {
                    SetIfMissing(port, "protocol", "TCP");
                }
            }

            if (container["env"] is JsonArray env)
            {
                foreach (var fieldRef in env.OfType<JsonObject>().Select(e => Json.Walk(e, "valueFrom", "fieldRef")).OfType<JsonObject>())
                {
                    SetIfMissing(fieldRef, "apiVersion", "v1");
                }
            }
        }

        if (podSpec["volumes"] is JsonArray volumes)
        {
            foreach (var volume in volumes.OfType<JsonObject>())
            {
                foreach (var source in new[] { "secret", "configMap", "projected", "downwardAPI" })
                {
                    if (volume[source] is JsonObject s)
                    {
                        SetIfMissing(s, "defaultMode", 420);
                    }
                }
            }
        }
    }

    /// <summary>
    /// What a created Pod gets besides the spec defaults: requests defaulted from limits (SetDefaults_Pod),
    /// enableServiceLinks, the default service account, priority and the not-ready/unreachable tolerations
    /// added by admission.
    /// </summary>
    public static void ApplyPodDefaults(JsonObject pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        if (pod["spec"] is not JsonObject spec)
        {
            return;
        }

        ApplySpecDefaults(spec);
        foreach (var container in Containers(spec))
        {
            if (Json.Walk(container, "resources", "limits") is JsonObject limits)
            {
                var resources = (JsonObject)container["resources"]!;
                if (resources["requests"] is not JsonObject requests)
                {
                    requests = [];
                    resources["requests"] = requests;
                }

                foreach (var (name, value) in limits)
                {
                    if (!requests.ContainsKey(name))
                    {
                        requests[name] = value?.DeepClone();
                    }
                }
            }
        }

        SetIfMissing(spec, "enableServiceLinks", true);
        SetIfMissing(spec, "serviceAccountName", "default");
        SetIfMissing(spec, "serviceAccount", Json.GetString(spec, "serviceAccountName") ?? "default");
        SetIfMissing(spec, "priority", 0);
        SetIfMissing(spec, "preemptionPolicy", "PreemptLowerPriority");
        if (spec["tolerations"] is not JsonArray tolerations)
        {
            tolerations = [];
            spec["tolerations"] = tolerations;
        }

        foreach (var key in new[] { "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable" })
        {
            if (!tolerations.OfType<JsonObject>().Any(t => Json.GetString(t, "key") == key))
            {
                tolerations.Add(new JsonObject { ["key"] = key, ["operator"] = "Exists", ["effect"] = "NoExecute", ["tolerationSeconds"] = 300 });
            }
        }
    }

    /// <summary>The pod's QoS class (Guaranteed, Burstable or BestEffort) from its containers' resources.</summary>
    public static string QosClass(JsonObject podSpec)
    {
        ArgumentNullException.ThrowIfNull(podSpec);
        var any = false;
        var guaranteed = true;
        foreach (var container in Containers(podSpec).Where(c => c.Parent == podSpec["containers"]))
        {
            var limits = Json.Walk(container, "resources", "limits") as JsonObject;
            var requests = Json.Walk(container, "resources", "requests") as JsonObject;
            foreach (var name in new[] { "cpu", "memory" })
            {
                var limit = limits?[name];
                var request = requests?[name] ?? limit;
                any |= limit is not null || request is not null;
                if (limit is null || request is null || !Quantity.TryParse(limit.ToString(), out var l, out _) || !Quantity.TryParse(request.ToString(), out var r, out _) || l.Value != r.Value)
                {
                    guaranteed = false;
                }
            }
        }

        return !any ? "BestEffort" : guaranteed ? "Guaranteed" : "Burstable";
    }

    /// <summary>Containers and init containers of a pod spec.</summary>
    internal static IEnumerable<JsonObject> Containers(JsonObject podSpec) =>
        new[] { "containers", "initContainers" }
            .Select(list => podSpec[list] as JsonArray)
            .Where(a => a is not null)
            .SelectMany(a => a!.OfType<JsonObject>());

    private static string DefaultPullPolicy(string image)
    {
        if (image.Contains('@', StringComparison.Ordinal))
        {
            return "IfNotPresent";
        }

        var lastSlash = image.LastIndexOf('/');
        var colon = image.LastIndexOf(':');
        var tag = colon > lastSlash ? image[(colon + 1)..] : "";
        return tag.Length == 0 || tag == "latest" ? "Always" : "IfNotPresent";
    }

    internal static void CanonicalizeAll(JsonObject list, ResourceType type)
    {
        foreach (var name in list.Select(p => p.Key).ToList())
        {
            list[name] = Canonical(list[name], type);
        }
    }

    private static string Canonical(JsonNode? node, ResourceType type)
    {
        var text = node switch
        {
            JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
            JsonValue v when v.GetValueKind() == JsonValueKind.Number => v.ToJsonString(),
            _ => "",
        };
        if (!Quantity.TryParse(text, out var quantity, out var error))
        {
            throw StoreException.BadRequest($"{type.Kind} in version \"{type.Version}\" cannot be handled as a {type.Kind}: {error}");
        }

        return quantity.Canonical;
    }

    private static void SetIfMissing(JsonObject obj, string name, JsonNode? value)
    {
        if (obj[name] is null || (obj[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>().Length == 0))
        {
            obj[name] = value;
        }
    }
}
