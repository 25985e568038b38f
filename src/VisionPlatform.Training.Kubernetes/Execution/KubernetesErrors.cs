using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Translates API failures into <see cref="TrainingException"/>s with the API's reason and causes and a hint of what to
/// fix, never a raw HTTP dump.
/// </summary>
internal static class KubernetesErrors
{
    public static bool Is(HttpOperationException ex, HttpStatusCode code) => ex.Response?.StatusCode == code;

    public static V1Status? ReadStatus(HttpOperationException ex)
    {
        var content = ex.Response?.Content;
        if (string.IsNullOrWhiteSpace(content))
        {
            return null;
        }

        try
        {
            return KubernetesJson.Deserialize<V1Status>(content);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Translates an API error for an operation (<paramref name="verb"/> on <paramref name="resource"/>). For a write
    /// (<paramref name="isWrite"/>) a 500 or 504 answer is <see cref="TrainingErrorCode.ExecutorFailure"/>: the server
    /// answered, but may have stored the object before it failed, so routing looks it up before it moves the job.
    /// </summary>
    public static TrainingException Translate(HttpOperationException ex, string verb, string resource, string @namespace, string? jobId, bool isWrite = false)
    {
        var status = ReadStatus(ex);
        var code = (int?)ex.Response?.StatusCode ?? 0;
        var apiMessage = status?.Message ?? ex.Response?.ReasonPhrase ?? ex.Message;
        var reason = status?.Reason ?? ex.Response?.StatusCode.ToString() ?? "Unknown";
        var (errorCode, message) = code switch
        {
            401 => (TrainingErrorCode.ExecutorUnavailable,
                $"The Kubernetes API server rejected the executor's credentials (401 {reason}) while trying to {verb} {resource} in namespace '{@namespace}': {apiMessage}. Check the token or client certificate of the configured identity."),
            403 => (TrainingErrorCode.Forbidden,
                $"Kubernetes RBAC forbids this (403 {reason}): {apiMessage}. Grant the executor's identity the verb '{verb}' on '{resource}' in namespace '{@namespace}' with a Role and RoleBinding (see docs/kubernetes.md, Cluster prerequisites)."),
            404 when status?.Details?.Kind == "namespaces" => (TrainingErrorCode.ExecutorUnavailable,
                $"The namespace '{@namespace}' does not exist (404 {reason}): create it (kubectl create namespace {@namespace}) or set Training:Kubernetes:Namespace."),
            404 => (TrainingErrorCode.RunNotFound, $"Kubernetes has no such object (404 {reason}) for {verb} {resource} in namespace '{@namespace}': {apiMessage}."),
            409 => (TrainingErrorCode.JobConflict, $"Kubernetes reported a conflict (409 {reason}) for {verb} {resource} in namespace '{@namespace}': {apiMessage}."),
            400 or 422 => (TrainingErrorCode.Rejected, $"Kubernetes rejected the request ({code} {reason}): {apiMessage}{Causes(status)}"),
            429 => (TrainingErrorCode.ExecutorUnavailable, $"The Kubernetes API server is throttling requests (429 {reason}): {apiMessage}. Retry later."),
            500 or 504 when isWrite => (TrainingErrorCode.ExecutorFailure,
                $"The Kubernetes API server failed ({code} {reason}) for {verb} {resource} in namespace '{@namespace}', and may have applied it: {apiMessage}."),
            >= 500 => (TrainingErrorCode.ExecutorUnavailable, $"The Kubernetes API server failed ({code} {reason}) for {verb} {resource} in namespace '{@namespace}': {apiMessage}."),
            _ => (TrainingErrorCode.ExecutorFailure, $"Kubernetes answered {code} {reason} for {verb} {resource} in namespace '{@namespace}': {apiMessage}."),
        };

        return new TrainingException(errorCode, message, ex) { ExecutorName = KubernetesExecutorInfo.ExecutorName, JobId = jobId };
    }

    /// <summary>
    /// Why the availability probe (<c>GET /version</c>) failed with an HTTP answer. A Kubernetes API server always serves
    /// <c>/version</c> and answers its errors with a JSON <c>Status</c>; a 404, or a client error without a
    /// <c>Status</c> body (an HTML page, a plain web server), means the configured URL is another kind of server, and the
    /// reason says so instead of translating it as an API error. A 5xx without a <c>Status</c> (a proxy in front of the
    /// API server) stays "the API server failed".
    /// </summary>
    public static string ProbeFailed(HttpOperationException ex, Uri? server, string source, string @namespace)
    {
        var code = (int?)ex.Response?.StatusCode ?? 0;
        var status = ReadStatus(ex);
        var isKubernetesStatus = string.Equals(status?.Kind, "Status", StringComparison.Ordinal);
        if (code == 404 || (code is > 0 and < 500 && !isKubernetesStatus))
        {
            return NotAnApiServer(server, source, $"GET /version answered {code} {ex.Response?.ReasonPhrase ?? ex.Response?.StatusCode.ToString()}{Described(ex.Response?.Content)}");
        }

        return Translate(ex, "get", "/version", @namespace, null).Message;
    }

    /// <summary>
    /// The reason for a server that answered <c>/version</c> with something other than a Kubernetes version
    /// (<paramref name="answer"/> says what), naming where its URL was configured.
    /// </summary>
    public static string NotAnApiServer(Uri? server, string source, string answer) =>
        $"The server at {server?.GetLeftPart(UriPartial.Authority) ?? "the configured URL"} (configured from {source}) is not a Kubernetes API server: {answer}. " +
        "Point Training:Kubernetes:Connection:Host, or the kubeconfig's cluster.server, at the cluster's API server (for example https://<control-plane>:6443).";

    /// <summary>What a non-Kubernetes answer looked like, briefly: an HTML page, or the start of its text.</summary>
    public static string Described(string? content)
    {
        if (string.IsNullOrWhiteSpace(content))
        {
            return string.Empty;
        }

        var text = content.TrimStart();
        if (text.StartsWith('<'))
        {
            return " with an HTML page";
        }

        var line = text.ReplaceLineEndings(" ");
        return line.Length <= 80 ? $" ('{line}')" : $" ('{line[..80]}...')";
    }

    /// <summary>Translates a transport failure (connection refused, TLS, timeout).</summary>
    public static TrainingException Unreachable(Exception ex, string source, string verb, string resource, string? jobId) =>
        new(TrainingErrorCode.ExecutorUnavailable,
            $"The Kubernetes API server (configured from {source}) could not be reached to {verb} {resource}: {ex.Message}",
            ex)
        { ExecutorName = KubernetesExecutorInfo.ExecutorName, JobId = jobId };

    /// <summary>
    /// Translates a transport failure of a write: <see cref="TrainingErrorCode.ExecutorUnavailable"/> when the request
    /// cannot have reached the server (connection refused, name resolution, TLS), otherwise
    /// <see cref="TrainingErrorCode.OutcomeUnknown"/> (no answer, connection lost mid-request, or an earlier attempt
    /// unanswered as <see cref="KubernetesOutcomeUnknownException"/> says): the server may still apply it.
    /// </summary>
    public static TrainingException WriteFailed(Exception ex, string source, string verb, string resource, string? jobId) =>
        ex is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError or HttpRequestError.ProxyTunnelError }
            and not KubernetesOutcomeUnknownException
            ? Unreachable(ex, source, verb, resource, jobId)
            : new TrainingException(
                TrainingErrorCode.OutcomeUnknown,
                $"The Kubernetes API server (configured from {source}) did not answer the request to {verb} {resource}, so it may still apply it: {ex.Message}",
                ex)
            { ExecutorName = KubernetesExecutorInfo.ExecutorName, JobId = jobId };

    private static string Causes(V1Status? status)
    {
        var causes = status?.Details?.Causes;
        if (causes is not { Count: > 0 })
        {
            return string.Empty;
        }

        return " Causes: " + string.Join("; ", causes.Select(c => $"{c.Field}: {c.Message} ({c.Reason})")) + ".";
    }
}
