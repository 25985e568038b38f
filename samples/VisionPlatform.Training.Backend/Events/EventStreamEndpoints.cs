using System.Security.Claims;
using Microsoft.Extensions.Options;
using VisionPlatform.Training.Backend.Problems;
using VisionPlatform.Training.Backend.Runs;
using VisionPlatform.Training.Backend.Security;

namespace VisionPlatform.Training.Backend.Events;

/// <summary>
/// Server-sent events for browsers (<c>new EventSource("/events")</c>) and <c>curl -N</c>: <c>GET /events</c> for every
/// run of the caller's project (current state of the live runs first, then what happens; never ends on its own) and
/// <c>GET /runs/{jobId}/events</c> for one run (its current state first, ends after its terminal phase; 404 for a run of
/// another project). <c>?logs=true</c> adds log lines, <c>?progress=false</c> leaves progress out. A caller may hold
/// <see cref="BackendLimitsOptions.MaxEventStreamsPerCaller"/> streams at once; one more answers 429.
/// </summary>
internal static class EventStreamEndpoints
{
    public static IEndpointRouteBuilder MapEventStreamEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/events", (bool? logs, bool? progress, ClaimsPrincipal user, TrainingClient client, EventStreamLeases leases, IOptions<BackendLimitsOptions> limits) =>
        {
            if (leases.TryAcquire(user.Caller()) is not { } lease)
            {
                return TrainingProblems.TooManyStreams(limits.Value.MaxEventStreamsPerCaller);
            }

            var project = user.Project();
            var known = new HashSet<string>(StringComparer.Ordinal);
            return new ServerSentEventStream(
                Subscription(jobId: null, logs, progress),
                endAfterTerminalPhase: false,
                lease,
                async (item, cancellationToken) =>
                {
                    if (item is not TrainingRunEvent run || known.Contains(run.JobId))
                    {
                        return true;
                    }

                    // Only the caller's project's runs; another project's events are never written.
                    if (await RunEndpoints.InProjectAsync(run.JobId, project, client, cancellationToken).ConfigureAwait(false))
                    {
                        known.Add(run.JobId);
                        return true;
                    }

                    return false;
                });
        });

        app.MapGet("/runs/{jobId}/events", async (string jobId, bool? logs, bool? progress, ClaimsPrincipal user, TrainingClient client, EventStreamLeases leases, IOptions<BackendLimitsOptions> limits, CancellationToken cancellationToken) =>
        {
            if (await RunEndpoints.FindAsync(jobId, user, client, cancellationToken).ConfigureAwait(false) is null)
            {
                return TrainingProblems.UnknownJob(jobId);
            }

            return leases.TryAcquire(user.Caller()) is { } lease
                ? new ServerSentEventStream(Subscription(jobId, logs, progress), endAfterTerminalPhase: true, lease)
                : TrainingProblems.TooManyStreams(limits.Value.MaxEventStreamsPerCaller);
        });
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
