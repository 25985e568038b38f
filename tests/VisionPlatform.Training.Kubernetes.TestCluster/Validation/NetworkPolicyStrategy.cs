using System.Net;
using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Validation;

/// <summary>
/// networking.k8s.io/v1 NetworkPolicies, stored and validated as <c>pkg/apis/networking/validation</c> does (the cluster
/// does not enforce them). Defaults: a port's protocol is TCP; without <c>policyTypes</c> the policy is Ingress, plus
/// Egress when it has egress rules.
/// </summary>
internal sealed class NetworkPolicyStrategy() : GenericStrategy(ResourceType.NetworkPolicies, NameRules.Dns1123Subdomain, hasStatus: false)
{
    private static readonly string[] Protocols = ["TCP", "UDP", "SCTP"];
    private static readonly string[] PolicyTypes = ["Ingress", "Egress"];

    public override void Decode(JsonObject obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        if (obj["spec"] is not JsonObject spec)
        {
            return;
        }

        foreach (var direction in new[] { "ingress", "egress" })
        {
            foreach (var rule in (spec[direction] as JsonArray ?? []).OfType<JsonObject>())
            {
                foreach (var port in (rule["ports"] as JsonArray ?? []).OfType<JsonObject>())
                {
                    if (string.IsNullOrEmpty(Json.GetString(port, "protocol")))
                    {
                        port["protocol"] = "TCP";
                    }
                }
            }
        }

        if (spec["policyTypes"] is not JsonArray { Count: > 0 })
        {
            var types = new JsonArray("Ingress");
            if (spec["egress"] is JsonArray { Count: > 0 })
            {
                types.Add("Egress");
            }

            spec["policyTypes"] = types;
        }
    }

    protected override void Validate(JsonObject obj, FieldErrors errors)
    {
        var spec = obj["spec"] as JsonObject ?? [];
        if (spec["podSelector"] is JsonObject podSelector)
        {
            ValidateSelector(podSelector, "spec.podSelector", errors);
        }
        else
        {
            errors.Required("spec.podSelector");
        }

        foreach (var (direction, peers) in new[] { ("ingress", "from"), ("egress", "to") })
        {
            var rules = spec[direction] as JsonArray ?? [];
            for (var i = 0; i < rules.Count; i++)
            {
                var rule = rules[i] as JsonObject ?? [];
                var path = $"spec.{direction}[{i}]";
                var ports = rule["ports"] as JsonArray ?? [];
                for (var p = 0; p < ports.Count; p++)
                {
                    ValidatePort(ports[p] as JsonObject ?? [], $"{path}.ports[{p}]", errors);
                }

                var list = rule[peers] as JsonArray ?? [];
                for (var p = 0; p < list.Count; p++)
                {
                    ValidatePeer(list[p] as JsonObject ?? [], $"{path}.{peers}[{p}]", errors);
                }
            }
        }

        var policyTypes = (spec["policyTypes"] as JsonArray ?? []).Select(t => t?.GetValue<string>() ?? "").ToList();
        for (var i = 0; i < policyTypes.Count; i++)
        {
            if (!PolicyTypes.Contains(policyTypes[i]))
            {
                errors.NotSupported($"spec.policyTypes[{i}]", policyTypes[i], PolicyTypes);
            }
        }

        if (policyTypes.Count > 2)
        {
            errors.InvalidRaw("spec.policyTypes", "[" + string.Join(" ", policyTypes) + "]", "may not specify more than two policyTypes");
        }
    }

    private static void ValidatePort(JsonObject port, string path, FieldErrors errors)
    {
        var protocol = Json.GetString(port, "protocol") ?? "TCP";
        if (!Protocols.Contains(protocol))
        {
            errors.NotSupported(path + ".protocol", protocol, Protocols);
        }

        long? number = null;
        switch (port["port"])
        {
            case null:
                break;
            case JsonValue value when value.TryGetValue<long>(out var n):
                number = n;
                if (n is < 1 or > 65535)
                {
                    errors.Invalid(path + ".port", n, "must be between 1 and 65535, inclusive");
                }

                break;
            case JsonValue value when value.TryGetValue<string>(out var name):
                errors.InvalidEach(path + ".port", name, PortNameRule(name));
                break;
            default:
                errors.InvalidRaw(path + ".port", port["port"]!.ToJsonString(), "must be a port number or name");
                break;
        }

        if (Json.GetLong(port, "endPort") is { } end)
        {
            if (number is null)
            {
                errors.Required(path + ".port", "when endPort is specified, port must be a port number");
            }
            else if (end < number)
            {
                errors.Invalid(path + ".endPort", end, "must be greater than or equal to `port`");
            }
        }
    }

    private static void ValidatePeer(JsonObject peer, string path, FieldErrors errors)
    {
        var kinds = new[] { "podSelector", "namespaceSelector", "ipBlock" }.Count(k => peer[k] is JsonObject);
        if (kinds == 0)
        {
            errors.Required(path, "must specify a peer");
            return;
        }

        if (peer["ipBlock"] is JsonObject ipBlock)
        {
            if (kinds > 1)
            {
                errors.Forbidden(path, "may not specify both ipBlock and another peer");
                return;
            }

            var cidr = Json.GetString(ipBlock, "cidr") ?? "";
            if (cidr.Length == 0)
            {
                errors.Required(path + ".ipBlock.cidr");
            }
            else if (!IPNetwork.TryParse(cidr, out _))
            {
                errors.Invalid(path + ".ipBlock.cidr", cidr, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)");
            }
        }

        foreach (var selector in new[] { "podSelector", "namespaceSelector" })
        {
            if (peer[selector] is JsonObject s)
            {
                ValidateSelector(s, $"{path}.{selector}", errors);
            }
        }
    }

    private static void ValidateSelector(JsonObject selector, string path, FieldErrors errors)
    {
        foreach (var (key, value) in selector["matchLabels"] as JsonObject ?? [])
        {
            errors.InvalidEach($"{path}.matchLabels", key, NameRules.QualifiedName(key));
            var text = value?.GetValue<string>() ?? "";
            errors.InvalidEach($"{path}.matchLabels", text, NameRules.LabelValue(text));
        }

        var expressions = selector["matchExpressions"] as JsonArray ?? [];
        for (var i = 0; i < expressions.Count; i++)
        {
            var expression = expressions[i] as JsonObject ?? [];
            var ep = $"{path}.matchExpressions[{i}]";
            var key = Json.GetString(expression, "key") ?? "";
            errors.InvalidEach(ep + ".key", key, NameRules.QualifiedName(key));
            var count = expression["values"] is JsonArray values ? values.Count : 0;
            switch (Json.GetString(expression, "operator") ?? "")
            {
                case "In" or "NotIn" when count == 0:
                    errors.Required(ep + ".values", "must be specified when `operator` is 'In' or 'NotIn'");
                    break;
                case "Exists" or "DoesNotExist" when count > 0:
                    errors.Forbidden(ep + ".values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
                    break;
                case "In" or "NotIn" or "Exists" or "DoesNotExist":
                    break;
                case var op:
                    errors.Invalid(ep + ".operator", op, "not a valid selector operator");
                    break;
            }
        }
    }

    // IANA service names: at most 15 characters, lower-case letters, digits and '-', at least one letter, no '--'.
    private static IReadOnlyList<string> PortNameRule(string name) =>
        name.Length is 0 or > 15 ? ["must be no more than 15 characters"]
        : !name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-') ? ["must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"]
        : !name.Any(c => c is >= 'a' and <= 'z') ? ["must contain at least one letter (a-z)"]
        : name.Contains("--", StringComparison.Ordinal) ? ["must not contain consecutive hyphens"]
        : name[0] == '-' || name[^1] == '-' ? ["must not begin or end with a hyphen"]
        : [];
}
