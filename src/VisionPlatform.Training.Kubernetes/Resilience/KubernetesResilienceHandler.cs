using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Retry;
using Polly.Timeout;
using VisionPlatform.Training.Diagnostics;
using VisionPlatform.Training.Kubernetes.Resilience;

namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// A <see cref="DelegatingHandler"/> for <c>new k8s.Kubernetes(config, handler)</c> that runs every API call through a
/// Polly pipeline: a per-attempt timeout inside retries with exponential backoff and jitter. Retried: 429, 500, 502,
/// 503, 504, attempt timeouts and connection failures; <c>Retry-After</c> is honoured (up to
/// <see cref="KubernetesResilienceOptions.MaxRetryAfter"/>). Not retried: any other status (403, 404, 409, 422 reach
/// the executor at once), calls the caller cancelled, and streaming calls (<c>watch=true</c>, <c>follow=true</c>),
/// which pass straight through. One handler per client: KubernetesClient chains it to its own socket handler.
/// <para>
/// A create, update or delete of which an attempt went unanswered (timed out, or the connection broke mid-request) may
/// still be applied by the server. When such a call fails in the end, the handler throws
/// <see cref="KubernetesOutcomeUnknownException"/> instead of the last attempt's error, and the executor reports it as
/// <see cref="TrainingErrorCode.OutcomeUnknown"/>, so routing never takes "not found" for an answer and moves the job.
/// </para>
/// </summary>
public sealed class KubernetesResilienceHandler : DelegatingHandler
{
    private static readonly ResiliencePropertyKey<HttpRequestMessage> RequestKey = new("VisionPlatform.Training.Kubernetes.Request");
    private static readonly ResiliencePropertyKey<int> AttemptsKey = new("VisionPlatform.Training.Kubernetes.Attempts");
    private static readonly ResiliencePropertyKey<bool> UnansweredKey = new("VisionPlatform.Training.Kubernetes.Unanswered");
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
    private readonly KubernetesResilienceOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>Creates the handler.</summary>
    /// <param name="options">Retry and timeout settings; validated here.</param>
    /// <param name="timeProvider">The clock for backoff, timeouts and <c>Retry-After</c> dates; <see langword="null"/> for the system clock.</param>
    /// <param name="logger">Logs retries; <see langword="null"/> for none.</param>
    /// <exception cref="ArgumentException">An option is out of range (the message names the key).</exception>
    public KubernetesResilienceHandler(KubernetesResilienceOptions options, TimeProvider? timeProvider = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate("Training:Kubernetes:Connection:Resilience");
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }

        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _pipeline = BuildPipeline();
    }

    /// <summary>Counts every attempt (<c>training.executor.request*</c> instruments, tagged <c>kubernetes</c>); <see langword="null"/> for no metrics.</summary>
    public TrainingMetrics? Metrics { get; init; }

    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (IsStreaming(request))
        {
            return await SendStreamingAsync(request, cancellationToken).ConfigureAwait(false);
        }

        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(RequestKey, request);
        try
        {
            var outcome = await _pipeline.ExecuteOutcomeAsync(
                static async (ctx, state) =>
                {
                    ctx.Properties.Set(AttemptsKey, ctx.Properties.GetValue(AttemptsKey, 0) + 1);
                    try
                    {
                        return Outcome.FromResult(await state.handler.SendOnceAsync(state.request, ctx, state.cancellationToken).ConfigureAwait(false));
                    }
#pragma warning disable CA1031 // Every failure becomes an outcome; the pipeline decides whether to retry it.
                    catch (Exception e)
#pragma warning restore CA1031
                    {
                        return Outcome.FromException<HttpResponseMessage>(e);
                    }
                },
                context,
                (handler: this, request, cancellationToken)).ConfigureAwait(false);

            var failed = outcome.Exception is not null || IsTransient(outcome.Result!.StatusCode);
            if (failed && !cancellationToken.IsCancellationRequested)
            {
                KubernetesResilienceLog.GaveUp(_logger, request.Method.Method, request.RequestUri?.AbsolutePath ?? "?", context.Properties.GetValue(AttemptsKey, 1), Describe(outcome));
            }

            if (failed && !cancellationToken.IsCancellationRequested && context.Properties.GetValue(UnansweredKey, false))
            {
                outcome.Result?.Dispose();
                throw new KubernetesOutcomeUnknownException(
                    $"{request.Method} {request.RequestUri?.AbsolutePath} was sent to the Kubernetes API but at least one of its {context.Properties.GetValue(AttemptsKey, 1)} attempt(s) got no answer, so the server may still apply it; the last attempt: {Describe(outcome)}.",
                    outcome.Exception);
            }

            if (outcome.Exception is TimeoutRejectedException timeout && !cancellationToken.IsCancellationRequested)
            {
                // Surface a timeout the way HttpClient does, so callers need to know only one shape.
                var message = $"The Kubernetes API did not answer {request.Method} {request.RequestUri?.AbsolutePath} within {_options.AttemptTimeout.TotalSeconds:0.###} s in {context.Properties.GetValue(AttemptsKey, 1)} attempt(s) (Training:Kubernetes:Connection:Resilience:AttemptTimeout).";
                throw new TaskCanceledException(message, new TimeoutException(message, timeout));
            }

            outcome.ThrowIfException();
            return outcome.Result!;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>Whether a status is worth retrying: 429 and the transient 5xx answers.</summary>
    internal static bool IsTransient(HttpStatusCode status) =>
        status is HttpStatusCode.TooManyRequests or HttpStatusCode.InternalServerError or HttpStatusCode.BadGateway
            or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;

    private static bool IsStreaming(HttpRequestMessage request)
    {
        var query = request.RequestUri?.Query;
        return query is not null &&
               (query.Contains("watch=true", StringComparison.OrdinalIgnoreCase) ||
                query.Contains("follow=true", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Watches and log follows: one attempt, no retries, no timeout (the stream is the answer).</summary>
    private async Task<HttpResponseMessage> SendStreamingAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Count(request, null, e, cancellationToken.IsCancellationRequested);
            throw;
        }

        Count(request, response.StatusCode, null, callerCanceled: false);
        return response;
    }

    private async Task<HttpResponseMessage> SendOnceAsync(HttpRequestMessage request, ResilienceContext context, CancellationToken callerToken)
    {
        var cancellationToken = context.CancellationToken;
        HttpResponseMessage response;
        try
        {
            response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Count(request, null, e, callerToken.IsCancellationRequested);
            if (!IsNotSent(e))
            {
                RecordIfUnanswered(request, context);
            }

            throw;
        }

        try
        {
            // Read the body inside the attempt, so the attempt timeout and the retries cover it too.
            await response.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Count(request, response.StatusCode, e, callerToken.IsCancellationRequested);
            response.Dispose();
            RecordIfUnanswered(request, context);
            throw;
        }

        Count(request, response.StatusCode, null, callerCanceled: false);
        return response;
    }

    /// <summary>Counts one attempt: answered (<paramref name="status"/>) or not (<paramref name="failure"/>).</summary>
    private void Count(HttpRequestMessage request, HttpStatusCode? status, Exception? failure, bool callerCanceled)
    {
        if (Metrics is not { } metrics)
        {
            return;
        }

        var kind = KubernetesApiRequestKind.Of(request);
        if (failure is not null)
        {
            var errorType = KubernetesApiRequestKind.ErrorType(failure, callerCanceled);
            metrics.RecordExecutorRequest(KubernetesExecutorInfo.ExecutorName, kind.Verb, kind.Resource, (int?)status, errorType, isError: !callerCanceled);
        }
        else
        {
            var isError = KubernetesApiRequestKind.IsErrorStatus(status!.Value);
            metrics.RecordExecutorRequest(KubernetesExecutorInfo.ExecutorName, kind.Verb, kind.Resource, (int)status.Value, isError ? ((int)status.Value).ToString(CultureInfo.InvariantCulture) : null, isError);
        }
    }

    /// <summary>
    /// A create, update or delete that got no answer may still be applied by the server: remember it for this call, so
    /// a final failure surfaces as <see cref="KubernetesOutcomeUnknownException"/>.
    /// </summary>
    private static void RecordIfUnanswered(HttpRequestMessage request, ResilienceContext context)
    {
        if (request.Method != HttpMethod.Get && request.Method != HttpMethod.Head)
        {
            context.Properties.Set(UnansweredKey, true);
        }
    }

    private static bool IsNotSent(Exception e) =>
        e is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError or HttpRequestError.ProxyTunnelError };

    private ResiliencePipeline<HttpResponseMessage> BuildPipeline()
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { Name = "kubernetes-api", TimeProvider = _time };
        if (_options.MaxRetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = _options.MaxRetryAttempts,
                Delay = _options.BaseDelay,
                MaxDelay = _options.MaxDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Outcome, args.Context)),
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result is { } r ? RetryAfter(r) : null),
                OnRetry = args =>
                {
                    if (Metrics is { } metrics && args.Context.Properties.TryGetValue(RequestKey, out var retried))
                    {
                        var kind = KubernetesApiRequestKind.Of(retried);
                        metrics.RecordExecutorRequestRetry(KubernetesExecutorInfo.ExecutorName, kind.Verb, kind.Resource);
                    }

                    var request = CurrentRequest(args.Context);
                    KubernetesResilienceLog.Retrying(
                        _logger,
                        request.Method,
                        request.Path,
                        Describe(args.Outcome),
                        args.AttemptNumber + 1,
                        args.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            });
        }

        builder.AddTimeout(_options.AttemptTimeout);
        return builder.Build();
    }

    private bool ShouldRetry(Outcome<HttpResponseMessage> outcome, ResilienceContext context)
    {
        if (context.CancellationToken.IsCancellationRequested)
        {
            return false;
        }

        if (outcome.Exception is { } e)
        {
            return e is HttpRequestException or TimeoutRejectedException or IOException or OperationCanceledException;
        }

        var response = outcome.Result!;
        if (!IsTransient(response.StatusCode))
        {
            return false;
        }

        if (RetryAfter(response) is { } wait && wait > _options.MaxRetryAfter)
        {
            var request = response.RequestMessage;
            KubernetesResilienceLog.RetryAfterTooLong(_logger, request?.Method.Method ?? "?", request?.RequestUri?.AbsolutePath ?? "?", (int)response.StatusCode, wait);
            return false;
        }

        return true;
    }

    /// <summary>The server's requested wait (<c>Retry-After</c> as seconds or a date), or <see langword="null"/>.</summary>
    private TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        var wait = header?.Delta ?? (header?.Date is { } date ? date - _time.GetUtcNow() : null);
        return wait is { } w ? (w < TimeSpan.Zero ? TimeSpan.Zero : w) : null;
    }

    private static (string Method, string Path) CurrentRequest(ResilienceContext context) =>
        context.Properties.TryGetValue(RequestKey, out var request)
            ? (request.Method.Method, request.RequestUri?.AbsolutePath ?? "?")
            : ("?", "?");

    private static string Describe(Outcome<HttpResponseMessage> outcome) =>
        outcome.Exception is { } e
            ? e is TimeoutRejectedException ? "attempt timed out" : $"{e.GetType().Name}: {e.Message}"
            : $"{(int)outcome.Result!.StatusCode} {outcome.Result.ReasonPhrase}";
}
