using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Validation;

/// <summary>
/// v1 Services as <c>pkg/registry/core/service</c> and <c>ValidateService</c> treat them: names are DNS-1035 labels;
/// defaults (type ClusterIP, sessionAffinity None, port protocol TCP, targetPort = port, single-stack IPv4); a
/// cluster IP is allocated from 10.96.0.0/12 unless the Service is headless (<c>clusterIP: None</c>) or an
/// ExternalName; ports are required except for headless and ExternalName Services; the cluster IP cannot change.
/// The cluster routes no virtual IPs: only headless Services do something (their pods' DNS names).
/// </summary>
internal sealed class ServiceStrategy() : GenericStrategy(ResourceType.Services, NameRules.Dns1035Label, hasStatus: true)
{
    private static readonly string[] Types = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
    private static readonly string[] Protocols = ["SCTP", "TCP", "UDP"];
    private static readonly string[] Affinities = ["ClientIP", "None"];
    private static readonly string[] TrafficPolicies = ["Cluster", "Local"];
    private int _nextClusterIp;
    private int _nextNodePort;

    public override void Decode(JsonObject obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        if (obj["spec"] is not JsonObject spec)
        {
            spec = [];
            obj["spec"] = spec;
        }

        spec["type"] ??= "ClusterIP";
        var type = Json.GetString(spec, "type");
        if (type != "ExternalName")
        {
            spec["sessionAffinity"] ??= "None";
            spec["internalTrafficPolicy"] ??= "Cluster";
        }

        foreach (var port in (spec["ports"] as JsonArray ?? []).OfType<JsonObject>())
        {
            port["protocol"] ??= "TCP";
            if (port["targetPort"] is null && port["port"] is { } number)
            {
                port["targetPort"] = number.DeepClone();
            }
        }
    }

    public override void PrepareForCreate(JsonObject obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var spec = obj["spec"] as JsonObject ?? [];
        var type = Json.GetString(spec, "type") ?? "ClusterIP";
        if (type != "ExternalName")
        {
            // validated below; an address is allocated only when the request asked for none
            if (string.IsNullOrEmpty(Json.GetString(spec, "clusterIP")) && spec["clusterIPs"] is not JsonArray { Count: > 0 })
            {
                var n = Interlocked.Increment(ref _nextClusterIp);
                spec["clusterIP"] = string.Format(CultureInfo.InvariantCulture, "10.96.{0}.{1}", (n / 250) % 250, (n % 250) + 2);
            }

            spec["clusterIP"] ??= (spec["clusterIPs"] as JsonArray)?[0]?.DeepClone();
            spec["clusterIPs"] = new JsonArray(JsonValue.Create(Json.GetString(spec, "clusterIP")));
            spec["ipFamilies"] ??= new JsonArray("IPv4");
            spec["ipFamilyPolicy"] ??= "SingleStack";
            if (type is "NodePort" or "LoadBalancer")
            {
                spec["externalTrafficPolicy"] ??= "Cluster";
                foreach (var port in (spec["ports"] as JsonArray ?? []).OfType<JsonObject>())
                {
                    port["nodePort"] ??= 30000 + (Interlocked.Increment(ref _nextNodePort) % 2768);
                }
            }
        }

        obj["status"] = new JsonObject { ["loadBalancer"] = new JsonObject() };
        base.PrepareForCreate(obj);
    }

    public override JsonObject PrepareForUpdate(JsonObject updated, JsonObject existing)
    {
        ArgumentNullException.ThrowIfNull(updated);
        ArgumentNullException.ThrowIfNull(existing);
        // patchAllocatedValues: an update that leaves out the allocated address keeps it
        if (updated["spec"] is JsonObject spec && existing["spec"] is JsonObject old
            && string.IsNullOrEmpty(Json.GetString(spec, "clusterIP")) && spec["clusterIPs"] is null
            && Json.GetString(spec, "type") != "ExternalName")
        {
            foreach (var field in new[] { "clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy" })
            {
                if (old[field] is { } value && spec[field] is null)
                {
                    spec[field] = value.DeepClone();
                }
            }
        }

        return base.PrepareForUpdate(updated, existing);
    }

    protected override void Validate(JsonObject obj, FieldErrors errors)
    {
        var spec = obj["spec"] as JsonObject ?? [];
        var type = Json.GetString(spec, "type") ?? "ClusterIP";
        var clusterIp = Json.GetString(spec, "clusterIP") ?? "";
        var headless = clusterIp == "None";
        if (!Types.Contains(type))
        {
            errors.NotSupported("spec.type", type, Types);
        }

        if (type == "ExternalName")
        {
            var externalName = Json.GetString(spec, "externalName") ?? "";
            if (externalName.Length == 0)
            {
                errors.Required("spec.externalName");
            }
            else
            {
                errors.InvalidEach("spec.externalName", externalName, NameRules.Dns1123Subdomain(externalName.TrimEnd('.')));
            }

            if (clusterIp.Length > 0)
            {
                errors.Forbidden("spec.clusterIPs", "may not be set for ExternalName services");
            }
        }
        else if (clusterIp.Length > 0 && !headless && !IPAddress.TryParse(clusterIp, out _))
        {
            errors.Invalid("spec.clusterIPs[0]", clusterIp, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)");
        }
        else if (headless && type is "NodePort" or "LoadBalancer")
        {
            errors.Invalid("spec.clusterIPs[0]", clusterIp, $"may not be set to 'None' for {type} services");
        }

        if (Json.GetString(spec, "sessionAffinity") is { } affinity && !Affinities.Contains(affinity))
        {
            errors.NotSupported("spec.sessionAffinity", affinity, Affinities);
        }

        if (Json.GetString(spec, "internalTrafficPolicy") is { } traffic && !TrafficPolicies.Contains(traffic))
        {
            errors.NotSupported("spec.internalTrafficPolicy", traffic, TrafficPolicies);
        }

        if (spec["publishNotReadyAddresses"] is { } publish && publish.GetValueKind() is not (System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False))
        {
            throw StoreException.BadRequest(
                $"Service in version \"v1\" cannot be handled as a Service: json: cannot unmarshal {publish.GetValueKind().ToString().ToLowerInvariant()} into Go struct field ServiceSpec.spec.publishNotReadyAddresses of type bool");
        }

        foreach (var (key, value) in spec["selector"] as JsonObject ?? [])
        {
            errors.InvalidEach("spec.selector", key, NameRules.QualifiedName(key));
            var text = value is JsonValue v && v.TryGetValue<string>(out var s) ? s : "";
            errors.InvalidEach("spec.selector", text, NameRules.LabelValue(text));
        }

        var ports = spec["ports"] as JsonArray ?? [];
        if (ports.Count == 0 && !headless && type != "ExternalName")
        {
            errors.Required("spec.ports");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        var seen = new HashSet<(long, string)>();
        for (var i = 0; i < ports.Count; i++)
        {
            var port = ports[i] as JsonObject ?? [];
            var path = $"spec.ports[{i}]";
            var name = Json.GetString(port, "name") ?? "";
            if (name.Length == 0 && ports.Count > 1)
            {
                errors.Required(path + ".name");
            }
            else if (name.Length > 0)
            {
                errors.InvalidEach(path + ".name", name, NameRules.Dns1123Label(name));
                if (!names.Add(name))
                {
                    errors.Duplicate(path + ".name", name);
                }
            }

            var number = Json.GetLong(port, "port") ?? 0;
            if (number is < 1 or > 65535)
            {
                errors.Invalid(path + ".port", number, "must be between 1 and 65535, inclusive");
            }

            var protocol = Json.GetString(port, "protocol") ?? "";
            if (!Protocols.Contains(protocol))
            {
                errors.NotSupported(path + ".protocol", protocol, Protocols);
            }
            else if (!seen.Add((number, protocol)))
            {
                errors.Duplicate(path, $"{{{number}, {protocol}}}");
            }

            switch (port["targetPort"])
            {
                case JsonValue target when target.TryGetValue<long>(out var t):
                    if (t is < 1 or > 65535)
                    {
                        errors.Invalid(path + ".targetPort", t, "must be between 1 and 65535, inclusive");
                    }

                    break;
                case JsonValue target when target.TryGetValue<string>(out var targetName):
                    errors.InvalidEach(path + ".targetPort", targetName, NameRules.IanaServiceName(targetName));
                    break;
            }

            if (Json.GetLong(port, "nodePort") is not null && type is "ClusterIP" or "ExternalName")
            {
                errors.Forbidden(path + ".nodePort", $"may not be used when `type` is '{type}'");
            }
            else if (Json.GetLong(port, "nodePort") is { } np && np is < 1 or > 65535)
            {
                errors.Invalid(path + ".nodePort", np, "must be between 1 and 65535, inclusive");
            }
        }
    }

    protected override void ValidateUpdate(JsonObject updated, JsonObject existing, FieldErrors errors)
    {
        var before = Json.GetString(existing, "spec", "clusterIP") ?? "";
        var after = Json.GetString(updated, "spec", "clusterIP") ?? "";
        var typeBefore = Json.GetString(existing, "spec", "type");
        var typeAfter = Json.GetString(updated, "spec", "type");
        if (before.Length > 0 && before != after && typeBefore != "ExternalName" && typeAfter != "ExternalName")
        {
            errors.InvalidRaw("spec.clusterIPs[0]", "[]string{" + FieldErrors.Quote(after) + "}", "may not change once set");
        }
    }
}

/// <summary>discovery.k8s.io/v1 EndpointSlices: addressType is required and immutable, at most 1000 endpoints.</summary>
internal sealed class EndpointSliceStrategy() : GenericStrategy(ResourceType.EndpointSlices, NameRules.Dns1123Subdomain, hasStatus: false)
{
    private static readonly string[] AddressTypes = ["FQDN", "IPv4", "IPv6"];

    protected override void Validate(JsonObject obj, FieldErrors errors)
    {
        var addressType = Json.GetString(obj, "addressType") ?? "";
        if (addressType.Length == 0)
        {
            errors.Required("addressType");
        }
        else if (!AddressTypes.Contains(addressType))
        {
            errors.NotSupported("addressType", addressType, AddressTypes);
        }

        var endpoints = obj["endpoints"] as JsonArray ?? [];
        if (endpoints.Count > 1000)
        {
            errors.TooMany("endpoints", endpoints.Count, 1000);
        }

        for (var i = 0; i < endpoints.Count; i++)
        {
            var endpoint = endpoints[i] as JsonObject ?? [];
            var addresses = endpoint["addresses"] as JsonArray ?? [];
            if (addresses.Count == 0)
            {
                errors.Required($"endpoints[{i}].addresses", "must contain at least 1 address");
            }

            if (Json.GetString(endpoint, "hostname") is { } hostname)
            {
                errors.InvalidEach($"endpoints[{i}].hostname", hostname, NameRules.Dns1123Label(hostname));
            }
        }
    }

    protected override void ValidateUpdate(JsonObject updated, JsonObject existing, FieldErrors errors)
    {
        if (Json.GetString(updated, "addressType") != Json.GetString(existing, "addressType"))
        {
            errors.Invalid("addressType", Json.GetString(updated, "addressType"), "field is immutable");
        }
    }
}
