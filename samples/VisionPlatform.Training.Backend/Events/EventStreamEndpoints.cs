using VisionPlatform.Training.Backend.Problems;
using VisionPlatform.Training.Backend.Runs;

namespace VisionPlatform.Training.Backend.Events;

/// <summary>
/// Server-sent events for browsers (<c>new EventSource("/events")</c>) and <c>curl -N</c>: <c>GET /events</c> for every
/// run (current state of the live runs first, then what happens; never ends on its own) and <c>GET /runs/{jobId}/events</c>
/// for one run (its current state first, ends after its terminal phase). <c>?logs=true</c> adds log lines,
/// <c>?progress=false</c> leaves progress out.
/// </summary>
internal static class EventStreamEndpoints
{
    public static IEndpointRouteBuilder MapEventStreamEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/events", (bool? logs, bool? progress) =>
            new ServerSentEventStream(Subscription(jobId: null, logs, progress), endAfterTerminalPhase: false));

        app.MapGet("/runs/{jobId}/events", async (string jobId, bool? logs, bool? progress, TrainingClient client, CancellationToken cancellationToken) =>
            await RunEndpoints.FindAsync(jobId, client, cancellationToken).ConfigureAwait(false) is null
                ? TrainingProblems.UnknownJob(jobId)
                : new ServerSentEventStream(Subscription(jobId, logs, progress), endAfterTerminalPhase: true));
        return app;
    }

    private static TrainingEventSubscription Subscription(string? jobId, bool? logs, bool? progress) => new()
    {
        JobId = jobId,
        IncludeCurrentState = true,
        IncludeLogs = logs == true,
        IncludeProgress = progress != false,
    };
}
