using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>The pod template part of the apiserver's Job validation (ValidatePodSpec and its helpers).</summary>
internal static class PodSpecValidator
{
    private static readonly HashSet<string> StandardContainerResources = new(StringComparer.Ordinal) { "cpu", "memory", "ephemeral-storage" };
    private static readonly string[] ComparedResources = ["cpu", "memory", "ephemeral-storage"];

    public static void Validate(Errors e, string path, V1PodSpec pod)
    {
        var volumes = ValidateVolumes(e, path, pod.Volumes);
        if (pod.Containers is not { Count: > 0 })
        {
            e.Add($"{path}.containers", null, "is required: a pod needs at least one container");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        ValidateContainers(e, $"{path}.initContainers", pod.InitContainers, names, volumes);
        ValidateContainers(e, $"{path}.containers", pod.Containers, names, volumes);

        if (pod.EphemeralContainers is { Count: > 0 })
        {
            e.Add($"{path}.ephemeralContainers", null, "is forbidden in pod templates");
        }

        if (pod.ActiveDeadlineSeconds is { } deadline && deadline is < 1 or > int.MaxValue)
        {
            e.Add($"{path}.activeDeadlineSeconds", KubernetesJobValidator.Show(deadline), "must be between 1 and 2147483647");
        }

        KubernetesJobValidator.NonNegative(e, $"{path}.terminationGracePeriodSeconds", pod.TerminationGracePeriodSeconds);
        Subdomain(e, $"{path}.serviceAccountName", pod.ServiceAccountName);
        Subdomain(e, $"{path}.priorityClassName", pod.PriorityClassName);
        if (!string.IsNullOrEmpty(pod.Hostname) && !NameSyntax.IsDnsLabel(pod.Hostname))
        {
            e.Add($"{path}.hostname", pod.Hostname, NameSyntax.DnsLabelRule);
        }

        if (!string.IsNullOrEmpty(pod.Subdomain) && !NameSyntax.IsDnsLabel(pod.Subdomain))
        {
            e.Add($"{path}.subdomain", pod.Subdomain, NameSyntax.DnsLabelRule);
        }

        foreach (var (key, value) in pod.NodeSelector ?? new Dictionary<string, string>())
        {
            if (!NameSyntax.IsQualifiedName(key))
            {
                e.Add($"{path}.nodeSelector[{key}]", key, "key " + NameSyntax.QualifiedNameRule);
            }

            if (!NameSyntax.IsLabelValue(value))
            {
                e.Add($"{path}.nodeSelector[{key}]", value, NameSyntax.LabelValueRule);
            }
        }

        var pullSecrets = pod.ImagePullSecrets ?? [];
        for (var i = 0; i < pullSecrets.Count; i++)
        {
            if (string.IsNullOrEmpty(pullSecrets[i]?.Name))
            {
                e.Add($"{path}.imagePullSecrets[{i}].name", null, "is required");
            }
        }

        ValidateTolerations(e, $"{path}.tolerations", pod.Tolerations);
    }

    private static void Subdomain(Errors e, string path, string? value)
    {
        if (!string.IsNullOrEmpty(value) && !NameSyntax.IsDnsSubdomain(value))
        {
            e.Add(path, value, NameSyntax.DnsSubdomainRule);
        }
    }

    private static HashSet<string> ValidateVolumes(Errors e, string path, IList<V1Volume>? volumes)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var list = volumes ?? [];
        for (var i = 0; i < list.Count; i++)
        {
            var v = list[i];
            var at = $"{path}.volumes[{i}]";
            if (string.IsNullOrEmpty(v.Name))
            {
                e.Add($"{at}.name", null, "is required");
            }
            else if (!NameSyntax.IsDnsLabel(v.Name))
            {
                e.Add($"{at}.name", v.Name, NameSyntax.DnsLabelRule);
            }
            else if (!names.Add(v.Name))
            {
                e.Add($"{at}.name", v.Name, "duplicate value: volume names must be unique in a pod");
            }

            var sources = KubernetesJobValidator.CountVolumeSources(v);
            if (sources == 0)
            {
                e.Add(at, null, "must specify a volume type (for example emptyDir, persistentVolumeClaim, configMap or secret)");
            }
            else if (sources > 1)
            {
                e.Add(at, null, "may not specify more than 1 volume type");
            }

            if (v.EmptyDir?.SizeLimit is { } size && IsNegative(size))
            {
                e.Add($"{at}.emptyDir.sizeLimit", size.ToString(), "SizeLimit field must be a valid resource quantity (greater than or equal to 0)");
            }

            if (v.PersistentVolumeClaim is { } claim && string.IsNullOrEmpty(claim.ClaimName))
            {
                e.Add($"{at}.persistentVolumeClaim.claimName", null, "is required");
            }

            if (v.Secret is { } secret && string.IsNullOrEmpty(secret.SecretName))
            {
                e.Add($"{at}.secret.secretName", null, "is required");
            }

            if (v.ConfigMap is { } configMap && string.IsNullOrEmpty(configMap.Name))
            {
                e.Add($"{at}.configMap.name", null, "is required");
            }
        }

        return names;
    }

    private static void ValidateContainers(Errors e, string path, IList<V1Container>? containers, HashSet<string> names, HashSet<string> volumes)
    {
        var list = containers ?? [];
        for (var i = 0; i < list.Count; i++)
        {
            var c = list[i];
            var at = $"{path}[{i}]";
            if (string.IsNullOrEmpty(c.Name))
            {
                e.Add($"{at}.name", null, "is required");
            }
            else if (!NameSyntax.IsDnsLabel(c.Name))
            {
                e.Add($"{at}.name", c.Name, NameSyntax.DnsLabelRule);
            }
            else if (!names.Add(c.Name))
            {
                e.Add($"{at}.name", c.Name, "duplicate value: container names must be unique across containers and initContainers");
            }

            ValidateImage(e, at, c);

            if (c.ImagePullPolicy is not (null or "Always" or "IfNotPresent" or "Never"))
            {
                e.Add($"{at}.imagePullPolicy", c.ImagePullPolicy, "supported values: \"Always\", \"IfNotPresent\", \"Never\"");
            }

            ValidateEnv(e, at, c);
            ValidateResources(e, $"{at}.resources", c.Resources);
            ValidateMounts(e, $"{at}.volumeMounts", c.VolumeMounts, volumes);
        }
    }

    /// <summary>The per-job parts of the containers (see <see cref="KubernetesJobValidator.ValidateJobParts"/>).</summary>
    public static void ValidateContainerJobParts(Errors e, string path, IList<V1Container>? containers)
    {
        var list = containers ?? [];
        for (var i = 0; i < list.Count; i++)
        {
            var c = list[i];
            var at = $"{path}[{i}]";
            ValidateImage(e, at, c);
            ValidateEnv(e, at, c);
            ValidateResources(e, at + ".resources", c.Resources);
        }
    }

    private static void ValidateImage(Errors e, string path, V1Container c)
    {
        if (string.IsNullOrEmpty(c.Image))
        {
            e.Add($"{path}.image", null, "is required");
        }
        else if (char.IsWhiteSpace(c.Image[0]) || char.IsWhiteSpace(c.Image[^1]))
        {
            // Stricter than Job validation on purpose: the apiserver checks this only for pods, so such a Job is
            // accepted but the controller can never create its pods.
            e.Add($"{path}.image", c.Image, "must not have leading or trailing whitespace (the Job would be accepted but none of its pods)");
        }
    }

    private static void ValidateEnv(Errors e, string path, V1Container c)
    {
        var env = c.Env ?? [];
        for (var i = 0; i < env.Count; i++)
        {
            var v = env[i];
            if (string.IsNullOrEmpty(v.Name))
            {
                e.Add($"{path}.env[{i}].name", null, "is required");
            }
            else if (!NameSyntax.IsEnvironmentVariableName(v.Name))
            {
                e.Add($"{path}.env[{i}].name", v.Name, NameSyntax.EnvironmentVariableNameRule);
            }

            if (v.ValueFrom is not { } from)
            {
                continue;
            }

            // Paths are built only for a problem: a start validates every reference of every Job it builds.
            // The value is never echoed: it may be sensitive.
            if (!string.IsNullOrEmpty(v.Value))
            {
                e.Add($"{path}.env[{i}].valueFrom", null, "may not be specified when `value` is not empty");
            }

            var sources = (from.SecretKeyRef is null ? 0 : 1) + (from.ConfigMapKeyRef is null ? 0 : 1) + (from.FieldRef is null ? 0 : 1)
                + (from.ResourceFieldRef is null ? 0 : 1) + (from.FileKeyRef is null ? 0 : 1);
            if (sources != 1)
            {
                e.Add($"{path}.env[{i}].valueFrom", null, sources == 0 ? "must specify one of: fieldRef, resourceFieldRef, configMapKeyRef, secretKeyRef" : "may not have more than one field specified at a time");
            }

            if (from.SecretKeyRef is { } secret && !IsValidKeyReference(secret.Name, secret.Key))
            {
                KeyReference(e, $"{path}.env[{i}].valueFrom.secretKeyRef", secret.Name, secret.Key);
            }

            if (from.ConfigMapKeyRef is { } configMap && !IsValidKeyReference(configMap.Name, configMap.Key))
            {
                KeyReference(e, $"{path}.env[{i}].valueFrom.configMapKeyRef", configMap.Name, configMap.Key);
            }
        }

        var envFrom = c.EnvFrom ?? [];
        for (var i = 0; i < envFrom.Count; i++)
        {
            if (!string.IsNullOrEmpty(envFrom[i].Prefix) && !NameSyntax.IsEnvironmentVariableName(envFrom[i].Prefix))
            {
                e.Add($"{path}.envFrom[{i}].prefix", envFrom[i].Prefix, NameSyntax.EnvironmentVariableNameRule);
            }
        }
    }

    private static bool IsValidKeyReference(string? name, string? key) =>
        !string.IsNullOrEmpty(name) && NameSyntax.IsConfigMapKey(key);

    private static void KeyReference(Errors e, string path, string? name, string? key)
    {
        if (string.IsNullOrEmpty(name))
        {
            e.Add($"{path}.name", null, "is required");
        }

        if (string.IsNullOrEmpty(key))
        {
            e.Add($"{path}.key", null, "is required");
        }
        else if (!NameSyntax.IsConfigMapKey(key))
        {
            e.Add($"{path}.key", key, NameSyntax.ConfigMapKeyRule);
        }
    }

    private static void ValidateResources(Errors e, string path, V1ResourceRequirements? resources)
    {
        if (resources is null)
        {
            return;
        }

        var limits = resources.Limits ?? new Dictionary<string, k8s.Models.ResourceQuantity>();
        var requests = resources.Requests ?? new Dictionary<string, k8s.Models.ResourceQuantity>();
        var hugePages = ValidateQuantities(e, path, "limits", limits);
        hugePages |= ValidateQuantities(e, path, "requests", requests);

        foreach (var name in ComparedResources)
        {
            if (requests.TryGetValue(name, out var request) && limits.TryGetValue(name, out var limit) &&
                request is not null && limit is not null && request.ToDecimal() > limit.ToDecimal())
            {
                e.Add($"{path}.requests", request.ToString(), $"must be less than or equal to {name} limit of {limit}");
            }
        }

        foreach (var (name, request) in requests)
        {
            if (!IsExtended(name) && !name.StartsWith("hugepages-", StringComparison.Ordinal))
            {
                continue;
            }

            if (!limits.TryGetValue(name, out var limit))
            {
                e.Add($"{path}.limits", null, $"Limit must be set for non overcommitable resources ({name}); set only the limit and the request defaults to it");
            }
            else if (request is not null && limit is not null && request.ToDecimal() != limit.ToDecimal())
            {
                e.Add($"{path}.requests[{name}]", request.ToString(), $"must be equal to {name} limit of {limit}");
            }
        }

        if (hugePages && !limits.ContainsKey("cpu") && !limits.ContainsKey("memory") && !requests.ContainsKey("cpu") && !requests.ContainsKey("memory"))
        {
            e.Add(path, null, "HugePages require cpu or memory");
        }
    }

    /// <summary>Checks each name and quantity of a requests or limits map; returns whether it names huge pages.</summary>
    private static bool ValidateQuantities(Errors e, string path, string kind, IDictionary<string, k8s.Models.ResourceQuantity> map)
    {
        var hugePages = false;
        foreach (var (name, quantity) in map)
        {
            hugePages |= name.StartsWith("hugepages-", StringComparison.Ordinal);
            ValidateResourceName(e, path, kind, name);
            if (quantity is null || IsNegative(quantity))
            {
                e.Add($"{path}.{kind}[{name}]", quantity?.ToString(), "must be greater than or equal to 0");
                continue;
            }

            if (IsExtended(name) && quantity.ToDecimal() % 1 != 0)
            {
                e.Add($"{path}.{kind}[{name}]", quantity.ToString(), "must be an integer");
            }
        }

        return hugePages;
    }

    private static void ValidateResourceName(Errors e, string resourcesPath, string kind, string name)
    {
        if (!name.Contains('/', StringComparison.Ordinal))
        {
            if (!StandardContainerResources.Contains(name) && !name.StartsWith("hugepages-", StringComparison.Ordinal))
            {
                e.Add($"{resourcesPath}.{kind}[{name}]", name, "must be a standard resource for containers (cpu, memory, ephemeral-storage, hugepages-<size>) or a domain-prefixed extended resource such as nvidia.com/gpu");
            }

            return;
        }

        // Prefixed names under kubernetes.io/ are "native" and accepted; any other prefix is an extended resource.
        if (!NameSyntax.IsQualifiedName(name))
        {
            e.Add($"{resourcesPath}.{kind}[{name}]", name, "resource name " + NameSyntax.QualifiedNameRule);
        }
    }

    /// <summary>Extended resources (GPUs, for example) cannot be overcommitted: integers, request equal to limit.</summary>
    private static bool IsExtended(string name) =>
        name.IndexOf('/', StringComparison.Ordinal) is var slash and >= 0 && !name.AsSpan(0, slash).EndsWith("kubernetes.io", StringComparison.Ordinal);

    private static bool IsNegative(k8s.Models.ResourceQuantity quantity) => quantity.ToDecimal() < 0;

    private static void ValidateMounts(Errors e, string path, IList<V1VolumeMount>? mounts, HashSet<string> volumes)
    {
        var list = mounts ?? [];
        var paths = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < list.Count; i++)
        {
            var m = list[i];
            var at = $"{path}[{i}]";
            if (string.IsNullOrEmpty(m.Name))
            {
                e.Add($"{at}.name", null, "is required");
            }
            else if (!volumes.Contains(m.Name))
            {
                e.Add($"{at}.name", m.Name, "not found: must be the name of a volume in spec.template.spec.volumes");
            }

            if (string.IsNullOrEmpty(m.MountPath))
            {
                e.Add($"{at}.mountPath", null, "is required");
            }
            else if (!paths.Add(m.MountPath))
            {
                e.Add($"{at}.mountPath", m.MountPath, "must be unique: another volume is already mounted there");
            }

            if (!string.IsNullOrEmpty(m.SubPath) && (m.SubPath.StartsWith('/') || m.SubPath.Split('/').Contains("..")))
            {
                e.Add($"{at}.subPath", m.SubPath, "must be a relative path without '..'");
            }
        }
    }

    private static void ValidateTolerations(Errors e, string path, IList<V1Toleration>? tolerations)
    {
        var list = tolerations ?? [];
        for (var i = 0; i < list.Count; i++)
        {
            var t = list[i];
            var at = $"{path}[{i}]";
            if (!string.IsNullOrEmpty(t.Key) && !NameSyntax.IsQualifiedName(t.Key))
            {
                e.Add($"{at}.key", t.Key, NameSyntax.QualifiedNameRule);
            }

            if (string.IsNullOrEmpty(t.Key) && t.OperatorProperty != "Exists")
            {
                e.Add($"{at}.operator", t.OperatorProperty, "operator must be Exists when `key` is empty, which means \"match all values and all keys\"");
            }

            switch (t.OperatorProperty)
            {
                case null or "" or "Equal":
                    if (!NameSyntax.IsLabelValue(t.Value ?? string.Empty))
                    {
                        e.Add($"{at}.value", t.Value, NameSyntax.LabelValueRule);
                    }

                    break;
                case "Exists":
                    if (!string.IsNullOrEmpty(t.Value))
                    {
                        e.Add($"{at}.operator", t.Value, "value must be empty when `operator` is 'Exists'");
                    }

                    break;
                default:
                    e.Add($"{at}.operator", t.OperatorProperty, "supported values: \"Equal\", \"Exists\"");
                    break;
            }

            if (t.Effect is not (null or "" or "NoSchedule" or "PreferNoSchedule" or "NoExecute"))
            {
                e.Add($"{at}.effect", t.Effect, "supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"");
            }

            if (t.TolerationSeconds is not null && t.Effect != "NoExecute")
            {
                e.Add($"{at}.effect", t.Effect, "effect must be 'NoExecute' when `tolerationSeconds` is set");
            }
        }
    }
}
