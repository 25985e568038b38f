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
/// <c>dropped</c>). A <c>: heartbeat</c> comment goes out after <see cref="EventStreamOptions.HeartbeatInterval"/> of
/// silence. The stream ends when the client disconnects (the subscription ends with it), or, for one run, after its
/// terminal phase.
/// </summary>
internal sealed class ServerSentEventStream(TrainingEventSubscription subscription, bool endAfterTerminalPhase) : IResult
{
    private static readonly Dictionary<Type, string> EventTypes = typeof(TrainingJobEvent)
        .GetCustomAttributes<JsonDerivedTypeAttribute>()
        .ToDictionary(a => a.DerivedType, a => (string)a.TypeDiscriminator!);

    public async Task ExecuteAsync(HttpContext httpContext)
    {
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
        frame.Append("event: ").Append(EventTypes[item.GetType()]).Append('\n');
        if (item is TrainingRunEvent run)
        {
            frame.Append("id: ").Append(run.JobId).Append(':').Append(run.Sequence.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        // Serialized as the base type, so the polymorphic "type" discriminator is included; compact JSON is one line.
        frame.Append("data: ").Append(JsonSerializer.Serialize(item, json)).Append("\n\n");
        return frame.ToString();
    }

    private static async Task WriteAsync(HttpResponse response, string text, CancellationToken cancellationToken)
    {
        await response.WriteAsync(text, cancellationToken).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
