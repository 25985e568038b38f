using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Api;

/// <summary>
/// A request as the API server understands it (the apiserver's RequestInfo): verb, group, version, resource,
/// namespace, name and subresource, parsed from the method, path and query.
/// </summary>
public sealed record ApiRequest
{
    /// <summary>HTTP method, e.g. GET.</summary>
    public required string Method { get; init; }

    /// <summary>URL path, e.g. <c>/apis/batch/v1/namespaces/ml/jobs</c>.</summary>
    public required string Path { get; init; }

    /// <summary>Raw query string including the leading <c>?</c>, or empty.</summary>
    public string Query { get; init; } = "";

    /// <summary>True for resource requests; false for discovery, /version and unknown paths.</summary>
    public bool IsResourceRequest { get; init; }

    /// <summary>Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection (or the lowercased method).</summary>
    public string Verb { get; init; } = "";

    /// <summary>API group ("" for core).</summary>
    public string Group { get; init; } = "";

    /// <summary>API version.</summary>
    public string Version { get; init; } = "";

    /// <summary>Plural resource, e.g. <c>jobs</c>.</summary>
    public string Resource { get; init; } = "";

    /// <summary>Namespace, or null for cluster-scoped and all-namespace requests.</summary>
    public string? Namespace { get; init; }

    /// <summary>Object name, or null for collection requests.</summary>
    public string? Name { get; init; }

    /// <summary>Subresource, e.g. <c>status</c> or <c>log</c>, or null.</summary>
    public string? Subresource { get; init; }

    /// <summary>The served resource type, when the path names one.</summary>
    public ResourceType? Type { get; init; }

    /// <summary>Parses a request.</summary>
    public static ApiRequest Parse(string method, string path, string query, bool isWatch)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(path);
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToArray();
        var basic = new ApiRequest { Method = method, Path = path, Query = query ?? "", Verb = method.ToLowerInvariant() };
        string group;
        string version;
        string[] rest;
        if (parts.Length >= 2 && parts[0] == "api")
        {
            (group, version, rest) = ("", parts[1], parts[2..]);
        }
        else if (parts.Length >= 3 && parts[0] == "apis")
        {
            (group, version, rest) = (parts[1], parts[2], parts[3..]);
        }
        else
        {
            return basic;
        }

        if (rest.Length == 0)
        {
            return basic with { Group = group, Version = version };
        }

        string? ns = null;
        string plural;
        string? name = null;
        string? sub = null;
        if (rest[0] == "namespaces" && rest.Length >= 3 && rest[2] is not ("status" or "finalize"))
        {
            ns = rest[1];
            plural = rest[2];
            name = rest.Length > 3 ? rest[3] : null;
            sub = rest.Length > 4 ? string.Join('/', rest[4..]) : null;
        }
        else
        {
            plural = rest[0];
            name = rest.Length > 1 ? rest[1] : null;
            sub = rest.Length > 2 ? string.Join('/', rest[2..]) : null;
        }

        var verb = method.ToUpperInvariant() switch
        {
            "GET" or "HEAD" => name is null ? (isWatch ? "watch" : "list") : "get",
            "POST" => "create",
            "PUT" => "update",
            "PATCH" => "patch",
            "DELETE" => name is null ? "deletecollection" : "delete",
            _ => method.ToLowerInvariant(),
        };
        return basic with
        {
            IsResourceRequest = true,
            Verb = verb,
            Group = group,
            Version = version,
            Resource = plural,
            Namespace = ns,
            Name = name,
            Subresource = sub,
            Type = ResourceType.Find(group, version, plural),
        };
    }
}
