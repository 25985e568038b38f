using System.Text.Json.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Api;

/// <summary>The discovery documents (legacy, unaggregated form) and /version, enough for kubectl.</summary>
internal static class Discovery
{
    public const string GitVersion = "v1.34.2";

    private static readonly string[] AllVerbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

    private static readonly (string Group, string Version)[] Groups =
    [
        ("batch", "v1"),
        ("rbac.authorization.k8s.io", "v1"),
        ("authorization.k8s.io", "v1"),
        ("networking.k8s.io", "v1"),
        ("discovery.k8s.io", "v1"),
        ("coordination.k8s.io", "v1"),
        ("events.k8s.io", "v1"),
        ("kueue.x-k8s.io", "v1beta1"),
        // Kueue's aggregated visibility API: both versions serve the same shapes (the first listed is preferred)
        (Kueue.KueueNames.VisibilityGroup, "v1beta2"),
        (Kueue.KueueNames.VisibilityGroup, "v1beta1"),
    ];

    public static JsonObject Version() => new()
    {
        ["major"] = "1",
        ["minor"] = "34",
        ["emulationMajor"] = "1",
        ["emulationMinor"] = "34",
        ["minCompatibilityMajor"] = "1",
        ["minCompatibilityMinor"] = "33",
        ["gitVersion"] = GitVersion,
        ["gitCommit"] = "0000000000000000000000000000000000000000",
        ["gitTreeState"] = "clean",
        ["buildDate"] = "2026-01-01T00:00:00Z",
        ["goVersion"] = "go1.24.9",
        ["compiler"] = "gc",
        ["platform"] = "linux/amd64",
    };

    public static JsonObject CoreVersions(string serverAddress) => new()
    {
        ["kind"] = "APIVersions",
        ["versions"] = new JsonArray("v1"),
        ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject
        {
            ["clientCIDR"] = "0.0.0.0/0",
            ["serverAddress"] = serverAddress,
        }),
    };

    public static JsonObject GroupList() => new()
    {
        ["kind"] = "APIGroupList",
        ["apiVersion"] = "v1",
        ["groups"] = new JsonArray(Groups.Select(g => g.Group).Distinct(StringComparer.Ordinal).Select(g => (JsonNode)GroupBody(g)).ToArray()),
    };

    public static JsonObject? Group(string group)
    {
        var match = Groups.FirstOrDefault(g => g.Group == group);
        if (match.Group is null)
        {
            return null;
        }

        var body = GroupBody(match.Group);
        return new JsonObject
        {
            ["kind"] = "APIGroup",
            ["apiVersion"] = "v1",
            ["name"] = body["name"]!.DeepClone(),
            ["versions"] = body["versions"]!.DeepClone(),
            ["preferredVersion"] = body["preferredVersion"]!.DeepClone(),
        };
    }

    public static JsonObject? ResourceList(string group, string version)
    {
        if (!(group.Length == 0 && version == "v1") && !Groups.Any(g => g.Group == group && g.Version == version))
        {
            return null;
        }

        var resources = new JsonArray();
        foreach (var type in ResourceType.All.Where(t => t.Group == group && t.Version == version))
        {
            resources.Add(Resource(type.Plural, type.Kind, type.Namespaced, AllVerbs, ShortNames(type), type == ResourceType.Pods || type == ResourceType.Jobs || type == ResourceType.Services));
            if (type == ResourceType.Pods || type == ResourceType.Jobs || type == ResourceType.Namespaces || type == ResourceType.Nodes || type == ResourceType.Services
                || type == ResourceType.ResourceQuotas || Kueue.KueueNames.HasStatus(type))
            {
                resources.Add(Resource(type.Plural + "/status", type.Kind, type.Namespaced, ["get", "patch", "update"], [], false));
            }

            if (type == ResourceType.Pods)
            {
                resources.Add(Resource("pods/log", "Pod", true, ["get"], [], false));
            }
        }

        if (group == Kueue.KueueNames.VisibilityGroup)
        {
            resources.Add(Resource("clusterqueues", "ClusterQueue", false, [], [], false));
            resources.Add(Resource("clusterqueues/pendingworkloads", "PendingWorkloadsSummary", false, ["get"], [], false));
            resources.Add(Resource("localqueues", "LocalQueue", true, [], [], false));
            resources.Add(Resource("localqueues/pendingworkloads", "PendingWorkloadsSummary", true, ["get"], [], false));
        }

        if (group == "authorization.k8s.io")
        {
            resources.Add(Resource("selfsubjectaccessreviews", "SelfSubjectAccessReview", false, ["create"], [], false));
        }

        return new JsonObject
        {
            ["kind"] = "APIResourceList",
            ["apiVersion"] = "v1",
            ["groupVersion"] = group.Length == 0 ? version : $"{group}/{version}",
            ["resources"] = resources,
        };
    }

    /// <summary>
    /// The OpenAPI v3 root: one entry per group version. Only what kubectl needs to see that the server does
    /// field validation itself (so <c>kubectl create -f</c> sends <c>fieldValidation=Strict</c> and skips its
    /// client-side schema check).
    /// </summary>
    public static JsonObject OpenApiRoot()
    {
        var paths = new JsonObject { ["api/v1"] = new JsonObject { ["serverRelativeURL"] = "/openapi/v3/api/v1?hash=0" } };
        foreach (var (group, version) in Groups)
        {
            paths[$"apis/{group}/{version}"] = new JsonObject { ["serverRelativeURL"] = $"/openapi/v3/apis/{group}/{version}?hash=0" };
        }

        return new JsonObject { ["paths"] = paths };
    }

    /// <summary>A minimal OpenAPI v3 document for a group version: the PATCH operations with their GVK and fieldValidation.</summary>
    public static JsonObject? OpenApiGroupVersion(string group, string version)
    {
        if (!(group.Length == 0 && version == "v1") && !Groups.Any(g => g.Group == group && g.Version == version))
        {
            return null;
        }

        var paths = new JsonObject();
        foreach (var type in ResourceType.All.Where(t => t.Group == group && t.Version == version))
        {
            var prefix = group.Length == 0 ? "/api/v1" : $"/apis/{group}/{version}";
            var path = type.Namespaced ? $"{prefix}/namespaces/{{namespace}}/{type.Plural}/{{name}}" : $"{prefix}/{type.Plural}/{{name}}";
            var gvk = new JsonObject { ["group"] = group, ["kind"] = type.Kind, ["version"] = version };
            JsonObject Operation(string id) => new()
            {
                ["operationId"] = id + type.Kind,
                ["x-kubernetes-group-version-kind"] = gvk.DeepClone(),
                ["parameters"] = new JsonArray(
                    new JsonObject { ["name"] = "dryRun", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string" } },
                    new JsonObject { ["name"] = "fieldManager", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string" } },
                    new JsonObject { ["name"] = "fieldValidation", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string" } }),
                ["responses"] = new JsonObject { ["200"] = new JsonObject { ["description"] = "OK" } },
            };
            paths[path] = new JsonObject { ["patch"] = Operation("patch"), ["put"] = Operation("replace") };
        }

        return new JsonObject
        {
            ["openapi"] = "3.0.0",
            ["info"] = new JsonObject { ["title"] = "Kubernetes", ["version"] = GitVersion },
            ["paths"] = paths,
            ["components"] = new JsonObject(),
        };
    }

    private static JsonObject GroupBody(string group)
    {
        var versions = Groups.Where(g => g.Group == group)
            .Select(g => (JsonNode)new JsonObject { ["groupVersion"] = $"{group}/{g.Version}", ["version"] = g.Version })
            .ToArray();
        return new JsonObject
        {
            ["name"] = group,
            ["versions"] = new JsonArray(versions),
            ["preferredVersion"] = versions[0].DeepClone(),
        };
    }

    private static JsonObject Resource(string name, string kind, bool namespaced, string[] verbs, string[] shortNames, bool inAll)
    {
        var resource = new JsonObject
        {
            ["name"] = name,
            ["singularName"] = name.Contains('/', StringComparison.Ordinal) ? "" : kind.ToLowerInvariant(),
            ["namespaced"] = namespaced,
            ["kind"] = kind,
            ["verbs"] = new JsonArray(verbs.Select(v => (JsonNode)JsonValue.Create(v)!).ToArray()),
        };
        if (shortNames.Length > 0)
        {
            resource["shortNames"] = new JsonArray(shortNames.Select(v => (JsonNode)JsonValue.Create(v)!).ToArray());
        }

        if (inAll)
        {
            resource["categories"] = new JsonArray("all");
        }

        return resource;
    }

    private static string[] ShortNames(ResourceType type) => type.Plural switch
    {
        "pods" => ["po"],
        "namespaces" => ["ns"],
        "nodes" => ["no"],
        "configmaps" => ["cm"],
        "serviceaccounts" => ["sa"],
        "events" => ["ev"],
        "networkpolicies" => ["netpol"],
        "services" => ["svc"],
        "resourcequotas" => ["quota"],
        "limitranges" => ["limits"],
        "clusterqueues" => ["cq"],
        "localqueues" => ["queue", "queues", "lq"],
        "workloads" => ["wl"],
        "resourceflavors" => ["flavor", "flavors", "rf"],
        _ => [],
    };
}
