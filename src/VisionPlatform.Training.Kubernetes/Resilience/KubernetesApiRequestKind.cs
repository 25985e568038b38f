using System.Net;
using Polly.Timeout;

namespace VisionPlatform.Training.Kubernetes.Resilience;

/// <summary>
/// The Kubernetes verb and resource of an API request, read from its method, path and query, for the metrics' tags.
/// Values are bounded: a verb from the fixed Kubernetes set and a resource name (with subresource) or <c>other</c>.
/// </summary>
internal readonly record struct KubernetesApiRequestKind(string Verb, string Resource)
{
    private const string Other = "other";

    public static KubernetesApiRequestKind Of(HttpRequestMessage request)
    {
        var path = request.RequestUri?.AbsolutePath ?? string.Empty;
        var query = request.RequestUri?.Query ?? string.Empty;
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);

        // /api/v1/... (core) or /apis/{group}/{version}/...; anything else (/version, /healthz, discovery) is not a resource.
        var skip = segments.Length > 0 && segments[0] == "api" ? 2 : segments.Length > 0 && segments[0] == "apis" ? 3 : int.MaxValue;
        if (segments.Length <= skip)
        {
            return new KubernetesApiRequestKind(VerbOf(request.Method, query, named: false), Other);
        }

        var rest = segments.AsSpan(skip);
        if (rest.Length >= 3 && rest[0] == "namespaces")
        {
            rest = rest[2..];
        }

        var resource = rest[0];
        var named = rest.Length >= 2;
        if (rest.Length >= 3)
        {
            resource = $"{resource}/{rest[2]}";
        }

        return new KubernetesApiRequestKind(VerbOf(request.Method, query, named), IsPlainName(resource) ? resource : Other);
    }

    /// <summary>Whether an answer is a failure the retries deal with: 429 and 5xx.</summary>
    public static bool IsErrorStatus(HttpStatusCode status) => status == HttpStatusCode.TooManyRequests || (int)status >= 500;

    /// <summary>Why an attempt got no answer, as a short bounded value.</summary>
    public static string ErrorType(Exception exception, bool callerCanceled) => exception switch
    {
        _ when callerCanceled => "canceled",
        TimeoutRejectedException or OperationCanceledException or TimeoutException => "timeout",
        HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError or HttpRequestError.ProxyTunnelError } => "connection_error",
        HttpRequestException => "http_error",
        IOException => "io_error",
        _ => Other,
    };

    private static string VerbOf(HttpMethod method, string query, bool named)
    {
        if (method == HttpMethod.Get)
        {
            return query.Contains("watch=true", StringComparison.OrdinalIgnoreCase) ? "watch" : named ? "get" : "list";
        }

        return method.Method switch
        {
            "POST" => "create",
            "PUT" => "update",
            "PATCH" => "patch",
            "DELETE" => named ? "delete" : "deletecollection",
            _ => Other,
        };
    }

    private static bool IsPlainName(string resource) =>
        resource.Length is > 0 and <= 80 && resource.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '.' or '/');
}
