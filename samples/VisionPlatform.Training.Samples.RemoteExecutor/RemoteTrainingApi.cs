using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using VisionPlatform.Training.Diagnostics;

namespace VisionPlatform.Training.Samples.RemoteExecutor;

/// <summary>
/// The HTTP client of the training service. Every attempt is recorded on the SDK's <see cref="TrainingMetrics"/>
/// (<c>training.executor.requests</c>, tagged with the executor's name), and every failure becomes a
/// <see cref="TrainingException"/> whose code tells routing what happened:
/// <list type="bullet">
/// <item><description>the request never reached the service (refused, DNS): <see cref="TrainingErrorCode.ExecutorUnavailable"/>;</description></item>
/// <item><description>a write (create, stop) was sent and not answered (timeout, connection dropped): <see cref="TrainingErrorCode.OutcomeUnknown"/>;</description></item>
/// <item><description>a read that was not answered, or a 503: <see cref="TrainingErrorCode.ExecutorUnavailable"/>;</description></item>
/// <item><description>another 5xx: <see cref="TrainingErrorCode.ExecutorFailure"/> (answered; the write may have been applied).</description></item>
/// </list>
/// </summary>
internal sealed class RemoteTrainingApi : IDisposable
{
    private const string JobsResource = "jobs";
    private const string LogsResource = "jobs/logs";

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly string _executor;
    private readonly RemoteExecutorOptions _options;
    private readonly TimeProvider _time;
    private readonly TrainingMetrics? _metrics;
    private readonly HttpClient _http;

    public RemoteTrainingApi(string executor, RemoteExecutorOptions options, TimeProvider time, TrainingMetrics? metrics, HttpMessageHandler? handler)
    {
        _executor = executor;
        _options = options;
        _time = time;
        _metrics = metrics;
        var baseUrl = options.ServiceUrl ?? throw new ArgumentException("ServiceUrl is required.", nameof(options));
        _http = new HttpClient(handler ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2) }, disposeHandler: true)
        {
            BaseAddress = baseUrl.AbsoluteUri.EndsWith('/') ? baseUrl : new Uri(baseUrl.AbsoluteUri + "/"),

            // Deadlines come from the executor's TimeProvider (RequestTimeout), not from HttpClient's own timer.
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public async Task<bool> IsHealthyAsync(CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Get, "v1/health", null, "health", "health", isWrite: false, _options.AvailabilityTimeout, jobId: null, cancellationToken).ConfigureAwait(false);
        return response.IsSuccessStatusCode;
    }

    /// <summary>Creates the job, or returns the existing record for the same job id and config hash; 409 means another config.</summary>
    public async Task<(RemoteJobRecord? Record, bool Created, bool Conflict)> CreateAsync(RemoteJobRequest request, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Post, "v1/jobs", JsonContent.Create(request, options: Json), "create", JobsResource, isWrite: true, _options.RequestTimeout, request.JobId, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Conflict)
        {
            return (null, false, true);
        }

        await EnsureSuccessAsync(response, "create", request.JobId, cancellationToken).ConfigureAwait(false);
        var record = await ReadAsync<RemoteJobRecord>(response, request.JobId, cancellationToken).ConfigureAwait(false);
        return (record, response.StatusCode == HttpStatusCode.Created, false);
    }

    public async Task<RemoteJobRecord?> GetAsync(string jobId, CancellationToken cancellationToken)
    {
        using var response = await SendReadAsync($"v1/jobs/{Uri.EscapeDataString(jobId)}", "get", JobsResource, jobId, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        await EnsureSuccessAsync(response, "get", jobId, cancellationToken).ConfigureAwait(false);
        return await ReadAsync<RemoteJobRecord>(response, jobId, cancellationToken).ConfigureAwait(false);
    }

    public async Task<RemoteJobPage> ListAsync(long since, string? projectId, IReadOnlyDictionary<string, string>? labels, CancellationToken cancellationToken)
    {
        var query = new StringBuilder("v1/jobs?since=").Append(since.ToString(CultureInfo.InvariantCulture));
        if (projectId is not null)
        {
            query.Append("&projectId=").Append(Uri.EscapeDataString(projectId));
        }

        foreach (var (key, value) in labels ?? new Dictionary<string, string>())
        {
            query.Append("&label=").Append(Uri.EscapeDataString(key + "=" + value));
        }

        using var response = await SendReadAsync(query.ToString(), "list", JobsResource, null, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, "list", null, cancellationToken).ConfigureAwait(false);
        return await ReadAsync<RemoteJobPage>(response, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Log lines from index <paramref name="from"/>, or the last <paramref name="tail"/> lines; <see langword="null"/> when the job is unknown.</summary>
    public async Task<RemoteLogPage?> GetLogsAsync(string jobId, int? from, int? tail, CancellationToken cancellationToken)
    {
        var path = $"v1/jobs/{Uri.EscapeDataString(jobId)}/logs?" + (tail is { } t
            ? "tail=" + t.ToString(CultureInfo.InvariantCulture)
            : "from=" + (from ?? 0).ToString(CultureInfo.InvariantCulture));
        using var response = await SendReadAsync(path, "logs", LogsResource, jobId, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        await EnsureSuccessAsync(response, "logs", jobId, cancellationToken).ConfigureAwait(false);
        return await ReadAsync<RemoteLogPage>(response, jobId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops the run and returns its record once the trainer exited; <see langword="null"/> when the service has no such run.</summary>
    public async Task<RemoteJobRecord?> StopAsync(string jobId, string runId, TimeSpan grace, CancellationToken cancellationToken)
    {
        var path = $"v1/jobs/{Uri.EscapeDataString(jobId)}/stop?runId={Uri.EscapeDataString(runId)}&graceSeconds=" + grace.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);

        // The service answers once the trainer exited: allow the grace period on top of the usual deadline.
        using var response = await SendAsync(HttpMethod.Post, path, null, "stop", JobsResource, isWrite: true, _options.RequestTimeout + grace, jobId, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        await EnsureSuccessAsync(response, "stop", jobId, cancellationToken).ConfigureAwait(false);
        return await ReadAsync<RemoteJobRecord>(response, jobId, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => _http.Dispose();

    /// <summary>A read, retried on no answer or 502/503/504 (but not on a refused connection: a service that is down is reported at once, so routing can fall back quickly).</summary>
    private async Task<HttpResponseMessage> SendReadAsync(string path, string operation, string resource, string? jobId, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var response = await SendAsync(HttpMethod.Get, path, null, operation, resource, isWrite: false, _options.RequestTimeout, jobId, cancellationToken).ConfigureAwait(false);
                if (attempt >= _options.MaxReadRetries || response.StatusCode is not (HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout))
                {
                    return response;
                }

                response.Dispose();
            }
            catch (TrainingException e) when (attempt < _options.MaxReadRetries && e.InnerException is not HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError })
            {
                // No answer this time: try again.
            }

            _metrics?.RecordExecutorRequestRetry(_executor, operation, resource);
            await Task.Delay(TimeSpan.FromMilliseconds(100 * (1 << attempt)), _time, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<HttpResponseMessage> SendAsync(
        HttpMethod method,
        string path,
        HttpContent? content,
        string operation,
        string resource,
        bool isWrite,
        TimeSpan timeout,
        string? jobId,
        CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        using var request = new HttpRequestMessage(method, path) { Content = content };
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _metrics?.RecordExecutorRequest(_executor, operation, resource, statusCode: null, "canceled", isError: false);
            throw;
        }
        catch (OperationCanceledException e)
        {
            _metrics?.RecordExecutorRequest(_executor, operation, resource, statusCode: null, "timeout", isError: true);
            throw Failure(
                isWrite ? TrainingErrorCode.OutcomeUnknown : TrainingErrorCode.ExecutorUnavailable,
                isWrite
                    ? $"The training service at {_http.BaseAddress} did not answer the {operation} request within {timeout}; it may still apply it."
                    : $"The training service at {_http.BaseAddress} did not answer within {timeout}.",
                jobId,
                e);
        }
        catch (HttpRequestException e) when (e.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError)
        {
            // Nothing was sent: the service cannot have applied anything.
            _metrics?.RecordExecutorRequest(_executor, operation, resource, statusCode: null, "connection_error", isError: true);
            throw Failure(TrainingErrorCode.ExecutorUnavailable, $"The training service at {_http.BaseAddress} cannot be reached: {e.Message}", jobId, e);
        }
        catch (HttpRequestException e)
        {
            // Sent, and the connection broke before an answer (the server closed it, a proxy dropped it, ...).
            _metrics?.RecordExecutorRequest(_executor, operation, resource, statusCode: null, "io_error", isError: true);
            throw Failure(
                isWrite ? TrainingErrorCode.OutcomeUnknown : TrainingErrorCode.ExecutorUnavailable,
                isWrite
                    ? $"The {operation} request reached the training service at {_http.BaseAddress} but its answer was lost ({e.Message}); it may have been applied."
                    : $"The training service at {_http.BaseAddress} dropped the request: {e.Message}",
                jobId,
                e);
        }

        var status = (int)response.StatusCode;
        var isError = status is 429 or >= 500;
        _metrics?.RecordExecutorRequest(_executor, operation, resource, status, isError ? status.ToString(CultureInfo.InvariantCulture) : null, isError);
        return response;
    }

    private async Task EnsureSuccessAsync(HttpResponseMessage response, string operation, string? jobId, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        body = body.Length > 300 ? body[..300] + "..." : body;
        var code = response.StatusCode switch
        {
            HttpStatusCode.ServiceUnavailable => TrainingErrorCode.ExecutorUnavailable,
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => TrainingErrorCode.Forbidden,
            HttpStatusCode.BadRequest or HttpStatusCode.UnprocessableEntity => TrainingErrorCode.Rejected,
            _ => TrainingErrorCode.ExecutorFailure,
        };
        throw Failure(code, $"The training service answered the {operation} request with {(int)response.StatusCode} {response.ReasonPhrase}: {body}", jobId, inner: null);
    }

    private async Task<T> ReadAsync<T>(HttpResponseMessage response, string? jobId, CancellationToken cancellationToken)
    {
        try
        {
            return await response.Content.ReadFromJsonAsync<T>(Json, cancellationToken).ConfigureAwait(false)
                ?? throw new JsonException("The body is null.");
        }
        catch (JsonException e)
        {
            throw Failure(TrainingErrorCode.ExecutorFailure, $"The training service sent a body that is not a {typeof(T).Name}: {e.Message}", jobId, e);
        }
    }

    private TrainingException Failure(TrainingErrorCode code, string message, string? jobId, Exception? inner) =>
        new(code, message, inner) { ExecutorName = _executor, JobId = jobId };
}
