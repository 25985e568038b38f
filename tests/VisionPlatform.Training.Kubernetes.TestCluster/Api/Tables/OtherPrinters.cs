using System.Globalization;
using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Api.Tables;

/// <summary>The apiserver's printers for the other served kinds, column for column (see the Pod and Job printers).</summary>
internal static class OtherPrinters
{
    public static ResourcePrinter Namespace { get; } = new(
        [TableColumn.ObjectName, new("Status", "string", "The status of the namespace"), TableColumn.Age],
        (o, now) => new PrintedRow([Name(o), Json.GetString(o, "status", "phase") ?? "", Age(o, now)]));

    public static ResourcePrinter ConfigMap { get; } = new(
        [TableColumn.ObjectName, new("Data", "string", "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process."), TableColumn.Age],
        (o, now) => new PrintedRow([Name(o), Count(o, "data") + Count(o, "binaryData"), Age(o, now)]));

    public static ResourcePrinter Secret { get; } = new(
        [
            TableColumn.ObjectName,
            new("Type", "string", "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types"),
            new("Data", "string", "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4"),
            TableColumn.Age,
        ],
        (o, now) => new PrintedRow([Name(o), Json.GetString(o, "type") ?? "", Count(o, "data"), Age(o, now)]));

    public static ResourcePrinter ServiceAccount { get; } = new(
        [TableColumn.ObjectName, new("Secrets", "string", "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use."), TableColumn.Age],
        (o, now) => new PrintedRow([Name(o), (long)PrintFormat.Objects(o, "secrets").Count(), Age(o, now)]));

    public static ResourcePrinter Service { get; } = new(
        [
            TableColumn.ObjectName,
            new("Type", "string", "type determines how the Service is exposed."),
            new("Cluster-IP", "string", "clusterIP is the IP address of the service and is usually assigned randomly."),
            new("External-IP", "string", "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service."),
            new("Port(s)", "string", "The list of ports that are exposed by this service."),
            TableColumn.Age,
            new("Selector", "string", "Route service traffic to pods with label keys and values matching this selector.", 1),
        ],
        PrintService);

    public static ResourcePrinter Node { get; } = new(
        [
            TableColumn.ObjectName,
            new("Status", "string", "The status of the node"),
            new("Roles", "string", "The roles of the node"),
            TableColumn.Age,
            new("Version", "string", "Kubelet Version reported by the node."),
            new("Internal-IP", "string", "List of addresses reachable to the node.", 1),
            new("External-IP", "string", "List of addresses reachable to the node.", 1),
            new("OS-Image", "string", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).", 1),
            new("Kernel-Version", "string", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1),
            new("Container-Runtime", "string", "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).", 1),
        ],
        PrintNode);

    public static ResourcePrinter Event { get; } = new(
        [
            new("Last Seen", "string", "The time at which the most recent occurrence of this event was recorded."),
            new("Type", "string", "Type of this event (Normal, Warning), new types could be added in the future"),
            new("Reason", "string", "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
            new("Object", "string", "The object that this event is about."),
            new("Subobject", "string", "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].", 1),
            new("Source", "string", "The component reporting this event. Should be a short machine understandable string.", 1),
            new("Message", "string", "A human-readable description of the status of this operation."),
            new("First Seen", "string", "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)", 1),
            new("Count", "string", "The number of times this event has occurred.", 1),
            new("Name", "string", TableColumn.NameDescription, 1, "name"),
        ],
        PrintEvent);

    public static ResourcePrinter RoleBinding { get; } = new(
        [
            TableColumn.ObjectName,
            new("Role", "string", "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace."),
            TableColumn.Age,
            new("Users", "string", "Users in the roleBinding", 1),
            new("Groups", "string", "Groups in the roleBinding", 1),
            new("ServiceAccounts", "string", "ServiceAccounts in the roleBinding", 1),
        ],
        (o, now) =>
        {
            var subjects = PrintFormat.Objects(o, "subjects").ToList();
            string Of(string kind, Func<JsonObject, string> format) =>
                string.Join(", ", subjects.Where(s => Json.GetString(s, "kind") == kind).Select(format));
            return new PrintedRow(
            [
                Name(o),
                $"{Json.GetString(o, "roleRef", "kind")}/{Json.GetString(o, "roleRef", "name")}",
                Age(o, now),
                Of("User", s => Json.GetString(s, "name") ?? ""),
                Of("Group", s => Json.GetString(s, "name") ?? ""),
                Of("ServiceAccount", s => $"{Json.GetString(s, "namespace")}/{Json.GetString(s, "name")}"),
            ]);
        });

    public static ResourcePrinter NetworkPolicy { get; } = new(
        [TableColumn.ObjectName, new("Pod-Selector", "string", "Selects the pods to which this NetworkPolicy object applies."), TableColumn.Age],
        (o, now) => new PrintedRow([Name(o), PrintFormat.LabelSelector(Json.Walk(o, "spec", "podSelector")), Age(o, now)]));

    public static ResourcePrinter Lease { get; } = new(
        [TableColumn.ObjectName, new("Holder", "string", "holderIdentity contains the identity of the holder of a current lease."), TableColumn.Age],
        (o, now) => new PrintedRow([Name(o), Json.GetString(o, "spec", "holderIdentity") ?? "", Age(o, now)]));

    public static ResourcePrinter EndpointSlice { get; } = new(
        [
            TableColumn.ObjectName,
            new("AddressType", "string", "addressType specifies the type of address carried by this EndpointSlice."),
            new("Ports", "string", "ports specifies the list of network ports exposed by each endpoint in this slice."),
            new("Endpoints", "string", "endpoints is a list of unique endpoints in this slice."),
            TableColumn.Age,
        ],
        (o, now) => new PrintedRow(
        [
            Name(o),
            Json.GetString(o, "addressType") ?? "",
            FirstThree(PrintFormat.Objects(o, "ports").Select(p =>
                Json.GetLong(p, "port") is { } port ? port.ToString(CultureInfo.InvariantCulture) : Json.GetString(p, "name") ?? "*").ToList()),
            FirstThree(PrintFormat.Objects(o, "endpoints").SelectMany(e => PrintFormat.Strings(e, "addresses")).ToList()),
            Age(o, now),
        ]));

    /// <summary>
    /// The apiserver's default TableConvertor, for kinds without a printer (here Roles): NAME and CREATED AT, the
    /// creation time in RFC3339 rather than an age.
    /// </summary>
    public static ResourcePrinter Default { get; } = new(
        [TableColumn.ObjectName, new("Created At", "date", TableColumn.CreationTimestampDescription)],
        (o, _) => new PrintedRow([Name(o), Json.GetString(o, "metadata", "creationTimestamp") ?? "0001-01-01T00:00:00Z"]));

    private static PrintedRow PrintService(JsonObject o, DateTimeOffset now)
    {
        var type = Json.GetString(o, "spec", "type") ?? "";
        var clusterIp = PrintFormat.Strings(o, "spec", "clusterIPs").FirstOrDefault() ?? "<none>";
        var externalIps = PrintFormat.Strings(o, "spec", "externalIPs").ToList();
        var external = type switch
        {
            "ClusterIP" or "NodePort" => externalIps.Count > 0 ? string.Join(',', externalIps) : "<none>",
            "LoadBalancer" => LoadBalancerAddresses(o, externalIps),
            "ExternalName" => Json.GetString(o, "spec", "externalName") ?? "",
            _ => "<unknown>",
        };
        var ports = string.Join(',', PrintFormat.Objects(o, "spec", "ports").Select(p =>
        {
            var port = Json.GetLong(p, "port") ?? 0;
            var protocol = Json.GetString(p, "protocol") ?? "";
            return Json.GetLong(p, "nodePort") is { } nodePort and > 0
                ? string.Create(CultureInfo.InvariantCulture, $"{port}:{nodePort}/{protocol}")
                : string.Create(CultureInfo.InvariantCulture, $"{port}/{protocol}");
        }));
        return new PrintedRow(
        [
            Name(o), type, clusterIp, external, PrintFormat.NoneIfEmpty(ports), Age(o, now),
            PrintFormat.Labels(Json.StringMap(o, "spec", "selector")),
        ]);
    }

    private static string LoadBalancerAddresses(JsonObject o, List<string> externalIps)
    {
        // The server prints wide, so the load balancer list is not clipped to 16 characters.
        var ingress = PrintFormat.Objects(o, "status", "loadBalancer", "ingress")
            .Select(i => Json.GetString(i, "ip") is { Length: > 0 } ip ? ip : Json.GetString(i, "hostname") ?? "")
            .Where(s => s.Length > 0).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (externalIps.Count > 0)
        {
            return string.Join(',', ingress.Concat(externalIps));
        }

        return ingress.Count > 0 ? string.Join(',', ingress) : "<pending>";
    }

    private static PrintedRow PrintNode(JsonObject o, DateTimeOffset now)
    {
        var status = new List<string>();
        if (PrintFormat.ConditionStatus(o, "Ready") is { } ready)
        {
            status.Add(ready == "True" ? "Ready" : "NotReady");
        }
        else
        {
            status.Add("Unknown");
        }

        if (Json.GetBool(o, "spec", "unschedulable") == true)
        {
            status.Add("SchedulingDisabled");
        }

        var roles = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (key, value) in Json.StringMap(o, "metadata", "labels"))
        {
            if (key.StartsWith("node-role.kubernetes.io/", StringComparison.Ordinal) && key.Length > "node-role.kubernetes.io/".Length)
            {
                roles.Add(key["node-role.kubernetes.io/".Length..]);
            }
            else if (key == "kubernetes.io/role" && value.Length > 0)
            {
                roles.Add(value);
            }
        }

        string Address(string type) =>
            PrintFormat.Objects(o, "status", "addresses").FirstOrDefault(a => Json.GetString(a, "type") == type) is { } a
                ? Json.GetString(a, "address") ?? "" : "<none>";
        string Info(string field) => Json.GetString(o, "status", "nodeInfo", field) is { Length: > 0 } v ? v : "<unknown>";
        return new PrintedRow(
        [
            Name(o),
            string.Join(',', status),
            roles.Count == 0 ? "<none>" : string.Join(',', roles),
            Age(o, now),
            Json.GetString(o, "status", "nodeInfo", "kubeletVersion") ?? "",
            Address("InternalIP"),
            Address("ExternalIP"),
            Info("osImage"),
            Info("kernelVersion"),
            Info("containerRuntimeVersion"),
        ]);
    }

    private static PrintedRow PrintEvent(JsonObject o, DateTimeOffset now)
    {
        var firstTimestamp = Json.GetString(o, "firstTimestamp") is { } first
            ? HumanDuration.Since(first, now)
            : HumanDuration.Since(Json.GetString(o, "eventTime"), now);
        var lastTimestamp = Json.GetString(o, "lastTimestamp") is { } last ? HumanDuration.Since(last, now) : firstTimestamp;
        var count = Json.GetLong(o, "count") ?? 0;
        if (Json.Walk(o, "series") is JsonObject series)
        {
            lastTimestamp = HumanDuration.Since(Json.GetString(series, "lastObservedTime"), now);
            count = Json.GetLong(series, "count") ?? 0;
        }
        else if (count == 0)
        {
            // singleton events of the events.k8s.io API carry no count
            count = 1;
        }

        var kind = (Json.GetString(o, "involvedObject", "kind") ?? "").ToLowerInvariant();
        var target = Json.GetString(o, "involvedObject", "name") is { Length: > 0 } involved ? $"{kind}/{involved}" : kind;
        var component = FirstNonEmpty(Json.GetString(o, "source", "component"), Json.GetString(o, "reportingComponent"));
        var instance = FirstNonEmpty(Json.GetString(o, "source", "host"), Json.GetString(o, "reportingInstance"));
        return new PrintedRow(
        [
            lastTimestamp,
            Json.GetString(o, "type") ?? "",
            Json.GetString(o, "reason") ?? "",
            target,
            Json.GetString(o, "involvedObject", "fieldPath") ?? "",
            instance.Length == 0 ? component : $"{component}, {instance}",
            (Json.GetString(o, "message") ?? "").Trim(),
            firstTimestamp,
            count,
            Name(o),
        ]);
    }

    private static string FirstNonEmpty(string? a, string? b) => string.IsNullOrEmpty(a) ? b ?? "" : a;

    /// <summary>listWithMoreString: the first three, then "+ N more...", or &lt;unset&gt; when empty.</summary>
    private static string FirstThree(List<string> items) =>
        items.Count switch
        {
            0 => "<unset>",
            <= 3 => string.Join(',', items),
            _ => string.Create(CultureInfo.InvariantCulture, $"{string.Join(',', items.Take(3))} + {items.Count - 3} more..."),
        };

    private static string? Name(JsonObject o) => Json.GetString(o, "metadata", "name");

    private static string Age(JsonObject o, DateTimeOffset now) => HumanDuration.Since(Json.GetString(o, "metadata", "creationTimestamp"), now);

    private static long Count(JsonObject o, string field) => Json.Walk(o, field) is JsonObject map ? map.Count : 0;
}
