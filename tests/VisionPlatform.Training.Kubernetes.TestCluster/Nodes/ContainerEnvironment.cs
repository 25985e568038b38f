using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Scheduling;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Nodes;

/// <summary>A container's environment could not be built: the kubelet's CreateContainerConfigError.</summary>
internal sealed class ContainerConfigException(string message) : Exception(message)
{
    public ContainerConfigException()
        : this("container config error")
    {
    }

    public ContainerConfigException(string message, Exception innerException)
        : this(message + ": " + innerException?.Message)
    {
    }
}

/// <summary>
/// Builds a container's environment as the kubelet does: <c>envFrom</c> first, then <c>env</c> in order (later wins),
/// values from <c>value</c> (with <c>$(VAR)</c> expansion), <c>secretKeyRef</c>, <c>configMapKeyRef</c>, <c>fieldRef</c>
/// and <c>resourceFieldRef</c>. A missing Secret, ConfigMap or key that is not optional fails with the kubelet's message.
/// </summary>
internal static class ContainerEnvironment
{
    /// <param name="pod">The pod (with status hostIP/podIP already decided).</param>
    /// <param name="container">The container.</param>
    /// <param name="lookup">Reads a Secret or ConfigMap (<c>"Secret"</c>/<c>"ConfigMap"</c>, name) in the pod's namespace.</param>
    /// <param name="node">The node the pod runs on, for resource limits that are not set.</param>
    /// <exception cref="ContainerConfigException">A referenced Secret, ConfigMap, key or field cannot be resolved.</exception>
    public static List<KeyValuePair<string, string>> Resolve(JsonObject pod, JsonObject container, Func<string, string, JsonObject?> lookup, SimulatedNode? node)
    {
        var ns = pod.Namespace();
        var values = new List<KeyValuePair<string, string>>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        void Set(string name, string value)
        {
            if (index.TryGetValue(name, out var at))
            {
                values[at] = new(name, value);
            }
            else
            {
                index[name] = values.Count;
                values.Add(new(name, value));
            }
        }

        foreach (var source in container.ArrOrNull("envFrom").Objects())
        {
            var prefix = source.Str("prefix") ?? string.Empty;
            var (kind, reference) = source.ObjOrNull("secretRef") is { } s ? ("Secret", s) : ("ConfigMap", source.ObjOrNull("configMapRef"));
            if (reference is null)
            {
                continue;
            }

            var name = reference.Str("name") ?? string.Empty;
            var obj = lookup(kind, name);
            if (obj is null)
            {
                if (reference.Bool("optional") == true)
                {
                    continue;
                }

                throw new ContainerConfigException($"{kind.ToLowerInvariant()} \"{name}\" not found");
            }

            foreach (var (key, value) in Data(kind, obj))
            {
                Set(prefix + key, value);
            }
        }

        foreach (var env in container.ArrOrNull("env").Objects())
        {
            var name = env.Str("name") ?? string.Empty;
            if (env.ObjOrNull("valueFrom") is not { } from)
            {
                Set(name, Expand(env.Str("value") ?? string.Empty, values));
                continue;
            }

            var value = ValueFrom(pod, container, from, ns, lookup, node);
            if (value is not null)
            {
                Set(name, value);
            }
        }

        return values;
    }

    /// <summary>Kubernetes <c>$(VAR)</c> expansion: defined variables are replaced, <c>$$</c> escapes, the rest stays.</summary>
    public static string Expand(string input, IReadOnlyList<KeyValuePair<string, string>> variables)
    {
        if (!input.Contains('$', StringComparison.Ordinal))
        {
            return input;
        }

        var output = new StringBuilder(input.Length);
        for (var i = 0; i < input.Length; i++)
        {
            if (input[i] == '$' && i + 1 < input.Length)
            {
                if (input[i + 1] == '$')
                {
                    output.Append('$');
                    i++;
                    continue;
                }

                if (input[i + 1] == '(')
                {
                    var close = input.IndexOf(')', i + 2);
                    if (close > 0)
                    {
                        var name = input[(i + 2)..close];
                        var found = variables.LastOrDefault(v => v.Key == name);
                        if (found.Key is not null)
                        {
                            output.Append(found.Value);
                            i = close;
                            continue;
                        }
                    }
                }
            }

            output.Append(input[i]);
        }

        return output.ToString();
    }

    private static string? ValueFrom(JsonObject pod, JsonObject container, JsonObject from, string ns, Func<string, string, JsonObject?> lookup, SimulatedNode? node)
    {
        foreach (var (property, kind) in new[] { ("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap") })
        {
            if (from.ObjOrNull(property) is not { } keyRef)
            {
                continue;
            }

            var name = keyRef.Str("name") ?? string.Empty;
            var key = keyRef.Str("key") ?? string.Empty;
            var optional = keyRef.Bool("optional") == true;
            var obj = lookup(kind, name);
            if (obj is null)
            {
                return optional ? null : throw new ContainerConfigException($"{kind.ToLowerInvariant()} \"{name}\" not found");
            }

            var data = Data(kind, obj);
            if (!data.TryGetValue(key, out var value))
            {
                return optional ? null : throw new ContainerConfigException($"couldn't find key {key} in {kind} {ns}/{name}");
            }

            return value;
        }

        if (from.ObjOrNull("fieldRef") is { } fieldRef)
        {
            return FieldValue(pod, fieldRef.Str("fieldPath") ?? string.Empty);
        }

        if (from.ObjOrNull("resourceFieldRef") is { } resourceRef)
        {
            return ResourceValue(container, resourceRef, node);
        }

        return null;
    }

    private static Dictionary<string, string> Data(string kind, JsonObject obj)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (obj.ObjOrNull("data") is { } data)
        {
            foreach (var (key, value) in data)
            {
                var text = value?.GetValue<string>() ?? string.Empty;
                result[key] = kind == "Secret" ? Encoding.UTF8.GetString(Convert.FromBase64String(text)) : text;
            }
        }

        // stringData is write-only on a real server; a store that kept it still means the same values
        if (obj.ObjOrNull("stringData") is { } stringData)
        {
            foreach (var (key, value) in stringData)
            {
                result[key] = value?.GetValue<string>() ?? string.Empty;
            }
        }

        return result;
    }

    private static string FieldValue(JsonObject pod, string path)
    {
        var metadata = pod.ObjOrNull("metadata");
        var status = pod.ObjOrNull("status");
        string? Keyed(string prefix, string field)
        {
            var key = path[(prefix.Length + 2)..^2];
            return metadata.ObjOrNull(field).Str(key) ?? string.Empty;
        }

        return path switch
        {
            "metadata.name" => pod.Name(),
            "metadata.namespace" => pod.Namespace(),
            "metadata.uid" => pod.Uid(),
            "spec.nodeName" => pod.ObjOrNull("spec").Str("nodeName") ?? string.Empty,
            "spec.serviceAccountName" => pod.ObjOrNull("spec").Str("serviceAccountName") ?? string.Empty,
            "status.hostIP" => status.Str("hostIP") ?? string.Empty,
            "status.hostIPs" => string.Join(',', status.ArrOrNull("hostIPs").Objects().Select(i => i.Str("ip"))),
            "status.podIP" => status.Str("podIP") ?? string.Empty,
            "status.podIPs" => string.Join(',', status.ArrOrNull("podIPs").Objects().Select(i => i.Str("ip"))),
            _ when path.StartsWith("metadata.labels['", StringComparison.Ordinal) && path.EndsWith("']", StringComparison.Ordinal) => Keyed("metadata.labels", "labels")!,
            _ when path.StartsWith("metadata.annotations['", StringComparison.Ordinal) && path.EndsWith("']", StringComparison.Ordinal) => Keyed("metadata.annotations", "annotations")!,
            "metadata.labels" => string.Join('\n', (metadata.ObjOrNull("labels") ?? []).Select(l => $"{l.Key}=\"{l.Value}\"")),
            "metadata.annotations" => string.Join('\n', (metadata.ObjOrNull("annotations") ?? []).Select(l => $"{l.Key}=\"{l.Value}\"")),
            _ => throw new ContainerConfigException($"unsupported fieldPath: {path}"),
        };
    }

    private static string ResourceValue(JsonObject container, JsonObject resourceRef, SimulatedNode? node)
    {
        var resource = resourceRef.Str("resource") ?? string.Empty;
        var dot = resource.IndexOf('.', StringComparison.Ordinal);
        var (section, name) = dot < 0 ? ("limits", resource) : (resource[..dot], resource[(dot + 1)..]);
        var quantity = container.ObjOrNull("resources").ObjOrNull(section).Str(name)
            ?? container.ObjOrNull("resources").ObjOrNull(section)?[name]?.ToString();
        if (quantity is null && node is not null && section == "limits" && node.Allocatable.TryGetValue(name, out var allocatable))
        {
            quantity = allocatable;
        }

        var amount = quantity is null ? 0m : PodResources.Parse(quantity);
        var divisorText = resourceRef.Str("divisor") ?? resourceRef["divisor"]?.ToString();
        var divisor = string.IsNullOrEmpty(divisorText) ? 1m : PodResources.Parse(divisorText);
        return ((long)Math.Ceiling(amount / (divisor == 0 ? 1m : divisor))).ToString(CultureInfo.InvariantCulture);
    }
}
