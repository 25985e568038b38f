using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace VisionPlatform.Training.Backend.Events;

/// <summary>
/// Writes a subscription as server-sent events, one frame per event, flushed at once:
/// <code>
/// event: phase
/// id: job-42:3
/// data: {"type":"phase","status":{...},"previousPhase":"Pending","sequence":3,...}
/// </code>
/// <c>event</c> is the event's JSON <c>type</c>; <c>id</c> is the job id and the run's sequence number (none for
/// <c>dropped</c>). Both are sanitised: a CR, LF or other control character (which would end the field and let a job id
/// forge frames) is written as <c>%XX</c>. A <c>: heartbeat</c> comment goes out after <see cref="EventStreamOptions.HeartbeatInterval"/> of
/// silence. The stream ends when the client disconnects (the subscription ends with it), or, for one run, after its
/// terminal phase.
/// </summary>
internal sealed class ServerSentEventStream(
    TrainingEventSubscription subscription,
    bool endAfterTerminalPhase,
    IDisposable? lease = null,
    Func<TrainingJobEvent, CancellationToken, ValueTask<bool>>? include = null) : IResult
{
    private static readonly Dictionary<Type, string> EventTypes = typeof(TrainingJobEvent)
        .GetCustomAttributes<JsonDerivedTypeAttribute>()
        .ToDictionary(a => a.DerivedType, a => (string)a.TypeDiscriminator!);

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        using var held = lease;
        var services = httpContext.RequestServices;
        var options = services.GetRequiredService<IOptions<EventStreamOptions>>().Value;
        var json = services.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        var time = services.GetRequiredService<TimeProvider>();
        var aborted = httpContext.RequestAborted;
        var events = services.GetRequiredService<ITrainingEventSource>()
            .SubscribeAsync(subscription with { BufferCapacity = options.BufferCapacity }, aborted);

        var response = httpContext.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        httpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        await using var enumerator = events.GetAsyncEnumerator(aborted);
        Task<bool>? next = null;
        try
        {
            // An opening comment sends the headers now, so the client knows the stream is live before the first event.
            await WriteAsync(response, ": stream open\n\n", aborted).ConfigureAwait(false);
            while (true)
            {
                next ??= enumerator.MoveNextAsync().AsTask();
                bool more;
                try
                {
                    more = await next.WaitAsync(options.HeartbeatInterval, time, aborted).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    await WriteAsync(response, ": heartbeat\n\n", aborted).ConfigureAwait(false);
                    continue;
                }

                next = null;
                if (!more)
                {
                    return;
                }

                var item = enumerator.Current;
                if (include is not null && !await include(item, aborted).ConfigureAwait(false))
                {
                    continue;
                }

                await WriteAsync(response, Frame(item, json), aborted).ConfigureAwait(false);
                if (endAfterTerminalPhase && item is TrainingPhaseChangedEvent { Status.IsTerminal: true })
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client disconnected: nothing to report to it.
        }
        finally
        {
            // The enumerator may only be disposed once its pending MoveNextAsync has finished; cancellation ends it.
            if (next is not null)
            {
                await next.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
            }
        }
    }

    internal static string Frame(TrainingJobEvent item, JsonSerializerOptions json)
    {
        var frame = new StringBuilder();
        frame.Append("event: ").Append(FieldValue(EventTypes[item.GetType()])).Append('\n');
        if (item is TrainingRunEvent run)
        {
            frame.Append("id: ").Append(FieldValue(run.JobId)).Append(':').Append(run.Sequence.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        // A status message can name host paths (a launch that failed names the interpreter): redacted as in RunView.
        if (item is TrainingPhaseChangedEvent { Status.Message: { } message } phase)
        {
            item = phase with { Status = phase.Status with { Message = Problems.TrainingProblems.RedactPaths(message) } };
        }

        // Serialized as the base type, so the polymorphic "type" discriminator is included; compact JSON is one line.
        frame.Append("data: ").Append(JsonSerializer.Serialize(item, json)).Append("\n\n");
        return frame.ToString();
    }

    /// <summary>A value safe for one SSE field line: control characters (CR, LF, NUL, ...) and <c>%</c> as <c>%XX</c>.</summary>
    internal static string FieldValue(string value)
    {
        if (!value.Any(c => char.IsControl(c) || c == '%'))
        {
            return value;
        }

        var safe = new StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            if (char.IsControl(c) || c == '%')
            {
                safe.Append('%').Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
            }
            else
            {
                safe.Append(c);
            }
        }

        return safe.ToString();
    }

    private static async Task WriteAsync(HttpResponse response, string text, CancellationToken cancellationToken)
    {
        await response.WriteAsync(text, cancellationToken).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
