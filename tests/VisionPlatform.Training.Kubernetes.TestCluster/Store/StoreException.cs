using System.Text.Json.Nodes;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Store;

/// <summary>One cause of a 422 Invalid (metav1.StatusCause).</summary>
/// <param name="Reason">The field.ErrorType string, e.g. <c>FieldValueRequired</c>.</param>
/// <param name="Message">The error body, e.g. <c>Required value: name or generateName is required</c>.</param>
/// <param name="Field">The field path, e.g. <c>metadata.name</c>.</param>
public sealed record StatusCause(string Reason, string Message, string Field)
{
    /// <summary>The cause as the aggregate message prints it: <c>field: message</c>.</summary>
    public override string ToString() => Field.Length == 0 ? Message : $"{Field}: {Message}";
}

/// <summary>
/// An API error with everything the server puts into its Status body (apimachinery's StatusError).
/// Thrown by <see cref="ClusterStore"/> and the validators; the API server writes it as JSON.
/// </summary>
public sealed class StoreException : Exception
{
    /// <summary>Creates an error with the given HTTP code, reason and message.</summary>
    public StoreException(int code, string reason, string message)
        : base(message)
    {
        Code = code;
        Reason = reason;
    }

    /// <summary>Creates an error with no details (required by the exception pattern).</summary>
    public StoreException()
        : this(500, "InternalError", "internal error")
    {
    }

    /// <summary>Creates an internal error with a message (required by the exception pattern).</summary>
    public StoreException(string message)
        : this(500, "InternalError", message)
    {
    }

    /// <summary>Creates an internal error wrapping another (required by the exception pattern).</summary>
    public StoreException(string message, Exception innerException)
        : base(message, innerException)
    {
        Code = 500;
        Reason = "InternalError";
    }

    /// <summary>HTTP status code, e.g. 404.</summary>
    public int Code { get; }

    /// <summary>Status reason, e.g. <c>NotFound</c>.</summary>
    public string Reason { get; }

    /// <summary><c>details.name</c>.</summary>
    public string? DetailsName { get; init; }

    /// <summary><c>details.group</c>.</summary>
    public string? DetailsGroup { get; init; }

    /// <summary><c>details.kind</c>: the plural resource for 404/409, the Kind for 422.</summary>
    public string? DetailsKind { get; init; }

    /// <summary><c>details.uid</c>.</summary>
    public string? DetailsUid { get; init; }

    /// <summary><c>details.retryAfterSeconds</c>.</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary><c>details.causes</c>.</summary>
    public IReadOnlyList<StatusCause> Causes { get; init; } = [];

    /// <summary>404 NotFound: <c>jobs.batch "x" not found</c>.</summary>
    public static StoreException NotFound(ResourceType type, string name) =>
        new(404, "NotFound", $"{type.QualifiedResource} \"{name}\" not found")
        {
            DetailsName = name,
            DetailsGroup = type.Group,
            DetailsKind = type.Plural,
        };

    /// <summary>409 AlreadyExists: <c>jobs.batch "x" already exists</c>.</summary>
    public static StoreException AlreadyExists(ResourceType type, string name) =>
        new(409, "AlreadyExists", $"{type.QualifiedResource} \"{name}\" already exists")
        {
            DetailsName = name,
            DetailsGroup = type.Group,
            DetailsKind = type.Plural,
        };

    /// <summary>409 Conflict for a stale resourceVersion (or a failed precondition).</summary>
    public static StoreException Conflict(ResourceType type, string name, string? detail = null) =>
        new(409, "Conflict",
            $"Operation cannot be fulfilled on {type.QualifiedResource} \"{name}\": "
            + (detail ?? "the object has been modified; please apply your changes to the latest version and try again"))
        {
            DetailsName = name,
            DetailsGroup = type.Group,
            DetailsKind = type.Plural,
        };

    /// <summary>410 Expired, e.g. <c>too old resource version: 5 (12)</c>.</summary>
    public static StoreException Expired(string message) => new(410, "Expired", message);

    /// <summary>400 BadRequest.</summary>
    public static StoreException BadRequest(string message) => new(400, "BadRequest", message);

    /// <summary>403 Forbidden.</summary>
    public static StoreException Forbidden(ResourceType type, string? name, string message) =>
        new(403, "Forbidden", name is null
            ? $"{type.QualifiedResource} is forbidden: {message}"
            : $"{type.QualifiedResource} \"{name}\" is forbidden: {message}")
        {
            DetailsName = name,
            DetailsGroup = type.Group,
            DetailsKind = type.Plural,
        };

    /// <summary>405 MethodNotAllowed.</summary>
    public static StoreException MethodNotSupported(ResourceType type, string action) =>
        new(405, "MethodNotAllowed", $"{action} is not supported on resources of kind \"{type.QualifiedResource}\"")
        {
            DetailsGroup = type.Group,
            DetailsKind = type.Plural,
        };

    /// <summary>
    /// 422 Invalid: <c>Job.batch "x" is invalid: f: m</c>, several causes joined as <c>[f1: m1, f2: m2]</c>.
    /// </summary>
    public static StoreException Invalid(ResourceType type, string name, IReadOnlyList<StatusCause> causes) =>
        Invalid(type.QualifiedKind, type.Group, type.Kind, name, causes);

    /// <summary>422 Invalid for a kind that is not a stored resource (e.g. PodLogOptions).</summary>
    public static StoreException Invalid(string qualifiedKind, string group, string kind, string name, IReadOnlyList<StatusCause> causes)
    {
        ArgumentNullException.ThrowIfNull(causes);
        var aggregate = causes.Count == 1 ? causes[0].ToString() : "[" + string.Join(", ", causes) + "]";
        return new StoreException(422, "Invalid", $"{qualifiedKind} \"{name}\" is invalid: {aggregate}")
        {
            DetailsName = name,
            DetailsGroup = group,
            DetailsKind = kind,
            Causes = causes,
        };
    }

    /// <summary>The error as a metav1.Status JSON object, fields in the server's order.</summary>
    public JsonObject ToStatus()
    {
        var status = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = Message,
            ["reason"] = Reason,
        };
        var details = new JsonObject();
        if (!string.IsNullOrEmpty(DetailsName))
        {
            details["name"] = DetailsName;
        }

        if (!string.IsNullOrEmpty(DetailsGroup))
        {
            details["group"] = DetailsGroup;
        }

        if (!string.IsNullOrEmpty(DetailsKind))
        {
            details["kind"] = DetailsKind;
        }

        if (!string.IsNullOrEmpty(DetailsUid))
        {
            details["uid"] = DetailsUid;
        }

        if (Causes.Count > 0)
        {
            var causes = new JsonArray();
            foreach (var cause in Causes)
            {
                var c = new JsonObject { ["reason"] = cause.Reason, ["message"] = cause.Message };
                if (cause.Field.Length > 0)
                {
                    c["field"] = cause.Field;
                }

                causes.Add(c);
            }

            details["causes"] = causes;
        }

        if (RetryAfterSeconds is { } retry)
        {
            details["retryAfterSeconds"] = retry;
        }

        if (details.Count > 0)
        {
            status["details"] = details;
        }

        status["code"] = Code;
        return status;
    }
}
