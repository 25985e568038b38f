using System.Globalization;
using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Admission;

/// <summary>
/// The Pod Security Standards checks of k8s.io/pod-security-admission (policy/check_*.go) at their latest versions, in
/// the order the evaluator runs them (baseline checks by file name, then for baseline the two it overlaps with
/// restricted, or for restricted the restricted checks by file name), with upstream's reason and detail texts.
/// Not checked: AppArmor, SELinux options, procMount, sysctls, Windows hostProcess, user-namespace relaxations.
/// </summary>
internal static class PodSecurityChecks
{
    private static readonly HashSet<string> BaselineCapabilities = new(StringComparer.Ordinal)
    {
        "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID",
        "SETPCAP", "SETUID", "SYS_CHROOT",
    };

    private static readonly HashSet<string> RestrictedVolumeTypes = new(StringComparer.Ordinal)
    {
        "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
    };

    /// <summary>The failed checks of a pod spec at a level (baseline or restricted), in upstream order.</summary>
    public static IReadOnlyList<(string Reason, string Detail)> Evaluate(string level, JsonObject spec)
    {
        var results = new List<(string, string)?>
        {
            CapabilitiesBaseline(spec),
            HostNamespaces(spec),
            HostPorts(spec),
            Privileged(spec),
        };
        if (level == "baseline")
        {
            results.Add(HostPathVolumes(spec));
            results.Add(SeccompBaseline(spec));
        }
        else
        {
            results.Add(AllowPrivilegeEscalation(spec));
            results.Add(CapabilitiesRestricted(spec));
            results.Add(RestrictedVolumes(spec));
            results.Add(RunAsNonRoot(spec));
            results.Add(RunAsUser(spec));
            results.Add(SeccompRestricted(spec));
        }

        return results.Where(r => r is not null).Select(r => r!.Value).ToList();
    }

    private static IEnumerable<JsonObject> Containers(JsonObject spec) =>
        new[] { "initContainers", "containers", "ephemeralContainers" }
            .SelectMany(list => (spec[list] as JsonArray ?? []).OfType<JsonObject>());

    private static string Name(JsonObject container) => Json.GetString(container, "name") ?? "";

    private static string Pluralize(string one, string many, int count) => count == 1 ? one : many;

    private static string JoinQuote(IEnumerable<string> items) => string.Join(", ", items.Select(i => "\"" + i + "\""));

    private static string ContainersPhrase(IReadOnlyList<string> names) => $"{Pluralize("container", "containers", names.Count)} {JoinQuote(names)}";

    private static (string, string)? CapabilitiesBaseline(JsonObject spec)
    {
        var bad = new List<string>();
        var caps = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var c in Containers(spec))
        {
            var added = (Json.Walk(c, "securityContext", "capabilities", "add") as JsonArray ?? []).Select(n => n?.ToString() ?? "")
                .Where(cap => !BaselineCapabilities.Contains(cap)).ToList();
            if (added.Count > 0)
            {
                bad.Add(Name(c));
                caps.UnionWith(added);
            }
        }

        return bad.Count == 0 ? null
            : ("non-default capabilities", $"{ContainersPhrase(bad)} must not include {JoinQuote(caps)} in securityContext.capabilities.add");
    }

    private static (string, string)? HostNamespaces(JsonObject spec)
    {
        var set = new[] { "hostNetwork", "hostPID", "hostIPC" }.Where(f => Json.GetBool(spec, f) == true).Select(f => f + "=true").ToList();
        return set.Count == 0 ? null : ("host namespaces", string.Join(", ", set));
    }

    private static (string, string)? HostPorts(JsonObject spec)
    {
        var bad = new List<string>();
        var ports = new List<string>();
        foreach (var c in Containers(spec))
        {
            var found = false;
            foreach (var port in (c["ports"] as JsonArray ?? []).OfType<JsonObject>())
            {
                if (Json.GetLong(port, "hostPort") is { } hostPort && hostPort != 0)
                {
                    found = true;
                    ports.Add(hostPort.ToString(CultureInfo.InvariantCulture));
                }
            }

            if (found)
            {
                bad.Add(Name(c));
            }
        }

        return bad.Count == 0 ? null
            : ("hostPort", $"{ContainersPhrase(bad)} {Pluralize("uses", "use", bad.Count)} {Pluralize("hostPort", "hostPorts", ports.Count)} {string.Join(", ", ports)}");
    }

    private static (string, string)? Privileged(JsonObject spec)
    {
        var bad = Containers(spec).Where(c => Json.GetBool(c, "securityContext", "privileged") == true).Select(Name).ToList();
        return bad.Count == 0 ? null : ("privileged", $"{ContainersPhrase(bad)} must not set securityContext.privileged=true");
    }

    private static (string, string)? HostPathVolumes(JsonObject spec)
    {
        var bad = Volumes(spec).Where(v => v["hostPath"] is not null).Select(v => Json.GetString(v, "name") ?? "").ToList();
        return bad.Count == 0 ? null : ("hostPath volumes", $"{Pluralize("volume", "volumes", bad.Count)} {JoinQuote(bad)}");
    }

    private static IEnumerable<JsonObject> Volumes(JsonObject spec) => (spec["volumes"] as JsonArray ?? []).OfType<JsonObject>();

    private static (string, string)? SeccompBaseline(JsonObject spec)
    {
        var setters = new List<string>();
        if (Json.GetString(spec, "securityContext", "seccompProfile", "type") == "Unconfined")
        {
            setters.Add("pod");
        }

        var bad = Containers(spec).Where(c => Json.GetString(c, "securityContext", "seccompProfile", "type") == "Unconfined").Select(Name).ToList();
        if (bad.Count > 0)
        {
            setters.Add(ContainersPhrase(bad));
        }

        return setters.Count == 0 ? null : ("seccompProfile", $"{string.Join(" and ", setters)} must not set securityContext.seccompProfile.type to \"Unconfined\"");
    }

    private static (string, string)? AllowPrivilegeEscalation(JsonObject spec)
    {
        var bad = Containers(spec).Where(c => Json.GetBool(c, "securityContext", "allowPrivilegeEscalation") != false).Select(Name).ToList();
        return bad.Count == 0 ? null
            : ("allowPrivilegeEscalation != false", $"{ContainersPhrase(bad)} must set securityContext.allowPrivilegeEscalation=false");
    }

    private static (string, string)? CapabilitiesRestricted(JsonObject spec)
    {
        var missingDrop = new List<string>();
        var adding = new List<string>();
        var forbidden = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var c in Containers(spec))
        {
            if (Json.Walk(c, "securityContext", "capabilities") is not JsonObject caps)
            {
                missingDrop.Add(Name(c));
                continue;
            }

            if (!(caps["drop"] as JsonArray ?? []).Any(n => n?.ToString() == "ALL"))
            {
                missingDrop.Add(Name(c));
            }

            var added = (caps["add"] as JsonArray ?? []).Select(n => n?.ToString() ?? "").Where(cap => cap != "NET_BIND_SERVICE").ToList();
            if (added.Count > 0)
            {
                adding.Add(Name(c));
                forbidden.UnionWith(added);
            }
        }

        var details = new List<string>();
        if (missingDrop.Count > 0)
        {
            details.Add($"{ContainersPhrase(missingDrop)} must set securityContext.capabilities.drop=[\"ALL\"]");
        }

        if (adding.Count > 0)
        {
            details.Add($"{ContainersPhrase(adding)} must not include {JoinQuote(forbidden)} in securityContext.capabilities.add");
        }

        return details.Count == 0 ? null : ("unrestricted capabilities", string.Join("; ", details));
    }

    private static (string, string)? RestrictedVolumes(JsonObject spec)
    {
        var bad = new List<string>();
        var types = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var volume in Volumes(spec))
        {
            var source = volume.Select(p => p.Key).FirstOrDefault(k => k != "name");
            if (source is not null && !RestrictedVolumeTypes.Contains(source))
            {
                bad.Add(Json.GetString(volume, "name") ?? "");
                types.Add(source);
            }
        }

        return bad.Count == 0 ? null
            : ("restricted volume types",
                $"{Pluralize("volume", "volumes", bad.Count)} {JoinQuote(bad)} {Pluralize("uses", "use", bad.Count)} {Pluralize("restricted volume type", "restricted volume types", types.Count)} {JoinQuote(types)}");
    }

    private static (string, string)? RunAsNonRoot(JsonObject spec)
    {
        var setters = new List<string>();
        var podNonRoot = false;
        if (Json.GetBool(spec, "securityContext", "runAsNonRoot") is { } pod)
        {
            if (pod)
            {
                podNonRoot = true;
            }
            else
            {
                setters.Add("pod");
            }
        }

        var explicitBad = new List<string>();
        var implicitBad = new List<string>();
        foreach (var c in Containers(spec))
        {
            if (Json.GetBool(c, "securityContext", "runAsNonRoot") is { } value)
            {
                if (!value)
                {
                    explicitBad.Add(Name(c));
                }
            }
            else if (!podNonRoot)
            {
                implicitBad.Add(Name(c));
            }
        }

        if (explicitBad.Count > 0)
        {
            setters.Add(ContainersPhrase(explicitBad));
        }

        if (setters.Count > 0)
        {
            return ("runAsNonRoot != true", $"{string.Join(" and ", setters)} must not set securityContext.runAsNonRoot=false");
        }

        return implicitBad.Count == 0 ? null
            : ("runAsNonRoot != true", $"pod or {ContainersPhrase(implicitBad)} must set securityContext.runAsNonRoot=true");
    }

    private static (string, string)? RunAsUser(JsonObject spec)
    {
        var setters = new List<string>();
        if (Json.GetLong(spec, "securityContext", "runAsUser") == 0)
        {
            setters.Add("pod");
        }

        var bad = Containers(spec).Where(c => Json.GetLong(c, "securityContext", "runAsUser") == 0).Select(Name).ToList();
        if (bad.Count > 0)
        {
            setters.Add(ContainersPhrase(bad));
        }

        return setters.Count == 0 ? null : ("runAsUser=0", $"{string.Join(" and ", setters)} must not set runAsUser=0");
    }

    private static (string, string)? SeccompRestricted(JsonObject spec)
    {
        static bool Valid(string? type) => type is "RuntimeDefault" or "Localhost";
        var setters = new List<string>();
        var badValues = new SortedSet<string>(StringComparer.Ordinal);
        var podSet = false;
        if (Json.Walk(spec, "securityContext", "seccompProfile") is JsonObject podProfile)
        {
            var type = Json.GetString(podProfile, "type");
            if (Valid(type))
            {
                podSet = true;
            }
            else
            {
                setters.Add("pod");
                badValues.Add(type ?? "");
            }
        }

        var explicitBad = new List<string>();
        var implicitBad = new List<string>();
        foreach (var c in Containers(spec))
        {
            if (Json.Walk(c, "securityContext", "seccompProfile") is JsonObject profile)
            {
                var type = Json.GetString(profile, "type");
                if (!Valid(type))
                {
                    explicitBad.Add(Name(c));
                    badValues.Add(type ?? "");
                }
            }
            else if (!podSet)
            {
                implicitBad.Add(Name(c));
            }
        }

        if (explicitBad.Count > 0)
        {
            setters.Add(ContainersPhrase(explicitBad));
        }

        if (setters.Count > 0)
        {
            return ("seccompProfile", $"{string.Join(" and ", setters)} must not set securityContext.seccompProfile.type to {JoinQuote(badValues)}");
        }

        return implicitBad.Count == 0 ? null
            : ("seccompProfile", $"pod or {ContainersPhrase(implicitBad)} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"");
    }
}
