using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Validation;

/// <summary>
/// ValidatePodSpec (kubernetes pkg/apis/core/validation): containers, env, resources, volumes and mounts,
/// tolerations and the scalar pod fields, with the real field paths under a given prefix
/// (<c>spec</c> for a Pod, <c>spec.template.spec</c> for a Job).
/// </summary>
public sealed class PodSpecValidator(bool strictEnvironmentVariableNames)
{
    private static readonly string[] StandardContainerResources = ["cpu", "memory", "ephemeral-storage"];
    private static readonly string[] VolumeSources =
    [
        // The order validateVolumeSource checks them in: the second one found is the one reported.
        "emptyDir", "hostPath", "gitRepo", "gcePersistentDisk", "awsElasticBlockStore", "secret", "nfs", "iscsi", "glusterfs",
        "persistentVolumeClaim", "rbd", "quobyte", "flexVolume", "cinder", "cephfs", "flocker", "downwardAPI", "fc", "azureFile",
        "configMap", "vsphereVolume", "photonPersistentDisk", "portworxVolume", "azureDisk", "projected", "scaleIO", "storageos",
        "csi", "ephemeral", "image",
    ];

    private static readonly string[] SupportedFieldRefs =
    [
        "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName",
        "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs",
    ];

    /// <summary>Validates a pod spec found at <paramref name="path"/>.</summary>
    public void Validate(JsonObject spec, string path, bool isTemplate, FieldErrors errors)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(errors);
        var volumes = ValidateVolumes(spec["volumes"] as JsonArray, path + ".volumes", errors);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var containers = spec["containers"] as JsonArray;
        if (containers is null || containers.Count == 0)
        {
            errors.Required(path + ".containers");
        }
        else
        {
            ValidateContainers(containers, path + ".containers", volumes, names, errors);
        }

        if (spec["initContainers"] is JsonArray init)
        {
            ValidateContainers(init, path + ".initContainers", volumes, names, errors);
        }

        if (isTemplate && spec["ephemeralContainers"] is JsonArray { Count: > 0 })
        {
            errors.Forbidden(path + ".ephemeralContainers", "ephemeral containers not allowed in pod template");
        }

        var restart = Json.GetString(spec, "restartPolicy") ?? "";
        switch (restart)
        {
            case "Always" or "OnFailure" or "Never":
                break;
            case "":
                errors.Required(path + ".restartPolicy");
                break;
            default:
                errors.NotSupported(path + ".restartPolicy", restart, "Always", "OnFailure", "Never");
                break;
        }

        var dns = Json.GetString(spec, "dnsPolicy") ?? "";
        if (dns is not ("ClusterFirstWithHostNet" or "ClusterFirst" or "Default" or "None"))
        {
            errors.NotSupported(path + ".dnsPolicy", dns, "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None");
        }

        MetaValidator.ValidateLabels(spec["nodeSelector"] as JsonObject, path + ".nodeSelector", errors);
        if (Json.GetString(spec, "serviceAccountName") is { Length: > 0 } sa)
        {
            errors.InvalidEach(path + ".serviceAccountName", sa, NameRules.Dns1123Subdomain(sa));
        }

        if (Json.GetString(spec, "priorityClassName") is { Length: > 0 } pc)
        {
            errors.InvalidEach(path + ".priorityClassName", pc, NameRules.Dns1123Subdomain(pc));
        }

        if (Json.GetString(spec, "hostname") is { Length: > 0 } hostname)
        {
            errors.InvalidEach(path + ".hostname", hostname, NameRules.Dns1123Label(hostname));
        }

        if (Json.GetString(spec, "subdomain") is { Length: > 0 } subdomain)
        {
            errors.InvalidEach(path + ".subdomain", subdomain, NameRules.Dns1123Label(subdomain));
        }

        if (Json.GetLong(spec, "activeDeadlineSeconds") is { } deadline && deadline is < 1 or > int.MaxValue)
        {
            errors.Invalid(path + ".activeDeadlineSeconds", deadline, "must be between 1 and 2147483647, inclusive");
        }

        if (Json.GetLong(spec, "terminationGracePeriodSeconds") is < 0 and var grace)
        {
            errors.Invalid(path + ".terminationGracePeriodSeconds", grace, "must be greater than or equal to 0");
        }

        if (spec["securityContext"] is JsonObject securityContext)
        {
            foreach (var field in new[] { "runAsUser", "runAsGroup", "fsGroup" })
            {
                if (Json.GetLong(securityContext, field) is { } id && id is < 0 or > int.MaxValue)
                {
                    errors.Invalid($"{path}.securityContext.{field}", id, "must be between 0 and 2147483647, inclusive");
                }
            }
        }

        ValidateTolerations(spec["tolerations"] as JsonArray, path + ".tolerations", errors);
    }

    private void ValidateContainers(JsonArray containers, string path, HashSet<string> volumes, HashSet<string> names, FieldErrors errors)
    {
        for (var i = 0; i < containers.Count; i++)
        {
            var container = containers[i] as JsonObject ?? [];
            var p = $"{path}[{i}]";
            var name = Json.GetString(container, "name") ?? "";
            if (name.Length == 0)
            {
                errors.Required(p + ".name");
            }
            else
            {
                errors.InvalidEach(p + ".name", name, NameRules.Dns1123Label(name));
            }

            if (name.Length > 0 && !names.Add(name))
            {
                errors.Duplicate(p + ".name", name);
            }

            if (string.IsNullOrEmpty(Json.GetString(container, "image")))
            {
                errors.Required(p + ".image");
            }

            var tmp = Json.GetString(container, "terminationMessagePolicy") ?? "";
            if (tmp is not ("File" or "FallbackToLogsOnError"))
            {
                if (tmp.Length == 0)
                {
                    errors.Required(p + ".terminationMessagePolicy");
                }
                else
                {
                    errors.NotSupported(p + ".terminationMessagePolicy", tmp, "File", "FallbackToLogsOnError");
                }
            }

            ValidateEnv(container["env"] as JsonArray, p + ".env", errors);
            ValidateEnvFrom(container["envFrom"] as JsonArray, p + ".envFrom", errors);
            ValidateMounts(container["volumeMounts"] as JsonArray, p + ".volumeMounts", volumes, errors);
            var pull = Json.GetString(container, "imagePullPolicy") ?? "";
            if (pull is not ("Always" or "IfNotPresent" or "Never"))
            {
                if (pull.Length == 0)
                {
                    errors.Required(p + ".imagePullPolicy");
                }
                else
                {
                    errors.NotSupported(p + ".imagePullPolicy", pull, "Always", "IfNotPresent", "Never");
                }
            }

            ValidateResources(container["resources"] as JsonObject, p + ".resources", errors);
            if (Json.GetLong(container, "securityContext", "runAsUser") is { } user && user is < 0 or > int.MaxValue)
            {
                errors.Invalid(p + ".securityContext.runAsUser", user, "must be between 0 and 2147483647, inclusive");
            }

            if (Json.GetBool(container, "securityContext", "privileged") == true && Json.GetBool(container, "securityContext", "allowPrivilegeEscalation") == false)
            {
                errors.Invalid(p + ".securityContext", "", "cannot set `allowPrivilegeEscalation` to false and `privileged` to true");
            }
        }
    }

    private void ValidateEnv(JsonArray? env, string path, FieldErrors errors)
    {
        if (env is null)
        {
            return;
        }

        for (var i = 0; i < env.Count; i++)
        {
            var variable = env[i] as JsonObject ?? [];
            var p = $"{path}[{i}]";
            var name = Json.GetString(variable, "name") ?? "";
            if (name.Length == 0)
            {
                errors.Required(p + ".name");
            }
            else
            {
                errors.InvalidEach(p + ".name", name, strictEnvironmentVariableNames ? NameRules.StrictEnvVarName(name) : NameRules.RelaxedEnvVarName(name));
            }

            if (variable["valueFrom"] is not JsonObject valueFrom)
            {
                continue;
            }

            var vp = p + ".valueFrom";
            var sources = new[] { "fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef", "fileKeyRef" }.Where(valueFrom.ContainsKey).ToList();
            if (sources.Count == 0)
            {
                errors.Invalid(vp, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`");
            }
            else if (!string.IsNullOrEmpty(Json.GetString(variable, "value")))
            {
                errors.Invalid(vp, "", "may not be specified when `value` is not empty");
            }
            else if (sources.Count > 1)
            {
                errors.Invalid(vp, "", "may not have more than one field specified at a time");
            }

            foreach (var reference in new[] { "configMapKeyRef", "secretKeyRef" })
            {
                if (valueFrom[reference] is JsonObject keyRef)
                {
                    var key = Json.GetString(keyRef, "key") ?? "";
                    if (key.Length == 0)
                    {
                        errors.Required($"{vp}.{reference}.key");
                    }
                    else
                    {
                        errors.InvalidEach($"{vp}.{reference}.key", key, NameRules.ConfigMapKey(key));
                    }

                    if (string.IsNullOrEmpty(Json.GetString(keyRef, "name")))
                    {
                        errors.Required($"{vp}.{reference}.name");
                    }
                }
            }

            if (valueFrom["fieldRef"] is JsonObject fieldRef)
            {
                var fieldPath = Json.GetString(fieldRef, "fieldPath") ?? "";
                if (fieldPath.Length == 0)
                {
                    errors.Required(vp + ".fieldRef.fieldPath");
                }
                else if (!SupportedFieldRefs.Contains(fieldPath)
                    && !fieldPath.StartsWith("metadata.labels[", StringComparison.Ordinal)
                    && !fieldPath.StartsWith("metadata.annotations[", StringComparison.Ordinal))
                {
                    errors.NotSupported(vp + ".fieldRef.fieldPath", fieldPath,
                        "metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid",
                        "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs");
                }
            }
        }
    }

    private void ValidateEnvFrom(JsonArray? envFrom, string path, FieldErrors errors)
    {
        if (envFrom is null)
        {
            return;
        }

        for (var i = 0; i < envFrom.Count; i++)
        {
            var source = envFrom[i] as JsonObject ?? [];
            var p = $"{path}[{i}]";
            if (Json.GetString(source, "prefix") is { Length: > 0 } prefix)
            {
                errors.InvalidEach(p + ".prefix", prefix, strictEnvironmentVariableNames ? NameRules.StrictEnvVarName(prefix) : NameRules.RelaxedEnvVarName(prefix));
            }

            var refs = new[] { "configMapRef", "secretRef" }.Where(source.ContainsKey).ToList();
            if (refs.Count == 0)
            {
                errors.Invalid(p, "", "must specify one of: `configMapRef` or `secretRef`");
            }
            else if (refs.Count > 1)
            {
                errors.Invalid(p, "", "may not have more than one field specified at a time");
            }

            foreach (var r in refs)
            {
                if (string.IsNullOrEmpty(Json.GetString(source, r, "name")))
                {
                    errors.Required($"{p}.{r}.name");
                }
            }
        }
    }

    private static void ValidateResources(JsonObject? resources, string path, FieldErrors errors)
    {
        if (resources is null)
        {
            return;
        }

        var limits = resources["limits"] as JsonObject ?? [];
        var requests = resources["requests"] as JsonObject ?? [];
        var limitHasHugePages = false;
        var limitHasCpuOrMemory = false;
        foreach (var (name, value) in limits)
        {
            var p = $"{path}.limits[{name}]";
            ValidateResourceName(name, p, errors);
            ValidateQuantityValue(name, Parse(value), p, errors);
            limitHasHugePages |= name.StartsWith("hugepages-", StringComparison.Ordinal);
            limitHasCpuOrMemory |= name is "cpu" or "memory";
        }

        foreach (var (name, value) in requests)
        {
            var p = $"{path}.requests[{name}]";
            ValidateResourceName(name, p, errors);
            var request = Parse(value);
            ValidateQuantityValue(name, request, p, errors);
            if (limits[name] is { } limitNode)
            {
                var limit = Parse(limitNode);
                if (request.Value != limit.Value && !OvercommitAllowed(name))
                {
                    errors.Invalid(path + ".requests", request.Canonical, $"must be equal to {name} limit of {limit.Canonical}");
                }
                else if (request.Value > limit.Value)
                {
                    errors.Invalid(path + ".requests", request.Canonical, $"must be less than or equal to {name} limit of {limit.Canonical}");
                }
            }
            else if (!OvercommitAllowed(name))
            {
                errors.Required(path + ".limits", "Limit must be set for non overcommitable resources");
            }
        }

        if (limitHasHugePages && !limitHasCpuOrMemory)
        {
            errors.Forbidden(path + ".limits", "HugePages require cpu or memory");
        }
    }

    private static Quantity Parse(JsonNode? node)
    {
        var text = node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : node?.ToJsonString() ?? "0";
        return Quantity.TryParse(text, out var q, out _) ? q : new Quantity(0, "0");
    }

    private static void ValidateResourceName(string name, string path, FieldErrors errors)
    {
        errors.InvalidEach(path, name, NameRules.QualifiedName(name));
        if (!name.Contains('/', StringComparison.Ordinal))
        {
            if (!StandardContainerResources.Contains(name) && !name.StartsWith("hugepages-", StringComparison.Ordinal))
            {
                errors.Invalid(path, name, "must be a standard resource for containers");
            }
        }
        else if (!IsNative(name) && NameRules.QualifiedName("requests." + name).Count > 0)
        {
            errors.Invalid(path, name, "doesn't follow extended resource name standard");
        }
    }

    private static void ValidateQuantityValue(string name, Quantity quantity, string path, FieldErrors errors)
    {
        if (quantity.Value < 0)
        {
            errors.Invalid(path, quantity.Canonical, "must be greater than or equal to 0");
        }

        if (!IsNative(name) && quantity.Value * 1000 % 1000 != 0)
        {
            errors.Invalid(path, quantity.Canonical, "must be an integer");
        }
    }

    private static bool IsNative(string name) =>
        !name.Contains('/', StringComparison.Ordinal) || name.Contains("kubernetes.io/", StringComparison.Ordinal);

    private static bool OvercommitAllowed(string name) => IsNative(name) && !name.StartsWith("hugepages-", StringComparison.Ordinal);

    private static HashSet<string> ValidateVolumes(JsonArray? volumes, string path, FieldErrors errors)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (volumes is null)
        {
            return names;
        }

        for (var i = 0; i < volumes.Count; i++)
        {
            var volume = volumes[i] as JsonObject ?? [];
            var p = $"{path}[{i}]";
            var sources = VolumeSources.Where(s => volume[s] is not null).ToList();
            if (sources.Count == 0)
            {
                errors.Required(p, "must specify a volume type");
            }

            foreach (var extra in sources.Skip(1))
            {
                errors.Forbidden($"{p}.{extra}", "may not specify more than 1 volume type");
            }

            if (volume["emptyDir"] is JsonObject emptyDir)
            {
                if (emptyDir["sizeLimit"] is { } limit && Parse(limit).Value < 0)
                {
                    errors.Forbidden(p + ".emptyDir.sizeLimit", "SizeLimit field must be a valid resource quantity");
                }

                if (Json.GetString(emptyDir, "medium") is { Length: > 0 } medium && medium is not ("Memory" or "HugePages") && !medium.StartsWith("HugePages-", StringComparison.Ordinal))
                {
                    errors.NotSupported(p + ".emptyDir.medium", medium, "", "Memory", "HugePages");
                }
            }

            RequireString(volume, "secret", "secretName", p, errors);
            RequireString(volume, "configMap", "name", p, errors);
            RequireString(volume, "hostPath", "path", p, errors);
            RequireString(volume, "persistentVolumeClaim", "claimName", p, errors);
            foreach (var source in new[] { "secret", "configMap", "projected", "downwardAPI" })
            {
                if (Json.GetLong(volume, source, "defaultMode") is { } mode && mode is < 0 or > 511)
                {
                    errors.Invalid($"{p}.{source}.defaultMode", mode, "must be a number between 0 and 0777 (octal), both inclusive");
                }
            }

            var name = Json.GetString(volume, "name") ?? "";
            if (name.Length == 0)
            {
                errors.Required(p + ".name");
            }
            else
            {
                errors.InvalidEach(p + ".name", name, NameRules.Dns1123Label(name));
            }

            if (!names.Add(name) && name.Length > 0)
            {
                errors.Duplicate(p + ".name", name);
            }
        }

        return names;
    }

    private static void RequireString(JsonObject volume, string source, string field, string path, FieldErrors errors)
    {
        if (volume[source] is JsonObject s && string.IsNullOrEmpty(Json.GetString(s, field)))
        {
            errors.Required($"{path}.{source}.{field}");
        }
    }

    private static void ValidateMounts(JsonArray? mounts, string path, HashSet<string> volumes, FieldErrors errors)
    {
        if (mounts is null)
        {
            return;
        }

        var mountPoints = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < mounts.Count; i++)
        {
            var mount = mounts[i] as JsonObject ?? [];
            var p = $"{path}[{i}]";
            var name = Json.GetString(mount, "name") ?? "";
            if (name.Length == 0)
            {
                errors.Required(p + ".name");
            }

            if (!volumes.Contains(name))
            {
                errors.NotFound(p + ".name", name);
            }

            var mountPath = Json.GetString(mount, "mountPath") ?? "";
            if (mountPath.Length == 0)
            {
                errors.Required(p + ".mountPath");
            }

            if (!mountPoints.Add(mountPath))
            {
                errors.Invalid(p + ".mountPath", mountPath, "must be unique");
            }

            if (Json.GetString(mount, "subPath") is { Length: > 0 } subPath)
            {
                if (Path.IsPathRooted(subPath))
                {
                    errors.Invalid(path + ".subPath", subPath, "must be a relative path");
                }

                if (subPath.Split('/').Contains(".."))
                {
                    errors.Invalid(path + ".subPath", subPath, "must not contain '..'");
                }
            }
        }
    }

    private static void ValidateTolerations(JsonArray? tolerations, string path, FieldErrors errors)
    {
        if (tolerations is null)
        {
            return;
        }

        for (var i = 0; i < tolerations.Count; i++)
        {
            var toleration = tolerations[i] as JsonObject ?? [];
            var p = $"{path}[{i}]";
            var key = Json.GetString(toleration, "key") ?? "";
            var op = Json.GetString(toleration, "operator") ?? "";
            var value = Json.GetString(toleration, "value") ?? "";
            var effect = Json.GetString(toleration, "effect") ?? "";
            if (key.Length > 0)
            {
                errors.InvalidEach(p + ".key", key, NameRules.QualifiedName(key));
            }

            if (key.Length == 0 && op != "Exists")
            {
                errors.Invalid(p + ".operator", op, "operator must be Exists when `key` is empty, which means \"match all values and all keys\"");
            }

            if (toleration["tolerationSeconds"] is not null && effect != "NoExecute")
            {
                errors.Invalid(p + ".effect", effect, "effect must be 'NoExecute' when `tolerationSeconds` is set");
            }

            switch (op)
            {
                case "Equal" or "":
                    var valueErrors = NameRules.LabelValue(value);
                    if (valueErrors.Count > 0)
                    {
                        errors.Invalid(p + ".operator", value, string.Join(";", valueErrors));
                    }

                    break;
                case "Exists":
                    if (value.Length > 0)
                    {
                        errors.InvalidRaw(p + ".operator", toleration.ToJsonString(), "value must be empty when `operator` is 'Exists'");
                    }

                    break;
                default:
                    errors.NotSupported(p + ".operator", op, "Equal", "Exists");
                    break;
            }

            if (effect.Length > 0 && effect is not ("NoSchedule" or "PreferNoSchedule" or "NoExecute"))
            {
                errors.NotSupported(p + ".effect", effect, "NoSchedule", "PreferNoSchedule", "NoExecute");
            }
        }
    }

    /// <summary>Formats an int32 list as Go's %#v does: <c>[]int32{1, 2}</c>.</summary>
    internal static string GoInt32Slice(IEnumerable<long> values) =>
        "[]int32{" + string.Join(", ", values.Select(v => v.ToString(CultureInfo.InvariantCulture))) + "}";
}
