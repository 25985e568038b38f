using System.Globalization;
using System.Text;
using VisionPlatform.Training.Backend.Problems;

namespace VisionPlatform.Training.Backend.Runs;

/// <summary>
/// Starting, reading and stopping runs. Runs are addressed by job id (the training client finds which executor runs
/// each one) or by their persisted handle (<c>GET /operations/{handle}</c>). Errors are problem details, all made by
/// <see cref="TrainingProblems"/> (see its table): 400 names each bad field, its value and the rule; 404 an unknown job
/// id or handle; 409 a job id already used with other settings; 503 no executor can start runs now.
/// </summary>
internal static class RunEndpoints
{
    public static IEndpointRouteBuilder MapRunEndpoints(this IEndpointRouteBuilder app)
    {
        var runs = app.MapGroup("/runs");
        runs.MapPost("/", StartAsync);
        runs.MapGet("/", ListAsync);
        runs.MapGet("/{jobId}", GetAsync);
        runs.MapGet("/{jobId}/logs", GetLogsAsync);
        runs.MapPost("/{jobId}/stop", StopAsync);
        runs.MapDelete("/{jobId}", StopAsync);
        app.MapGet("/operations/{**handle}", GetOperationAsync);
        return app;
    }

    private static async Task<IResult> StartAsync(StartRunRequest request, TrainingClient client, CancellationToken cancellationToken)
    {
        var builder = request.ToBuilder();
        var errors = builder.Validate();
        if (errors.Count > 0)
        {
            return TrainingProblems.Invalid(errors);
        }

        // Every other TrainingException (conflict, unavailable, ...) is answered by TrainingExceptionHandler.
        var run = await client.StartAsync(builder.Build(), cancellationToken: cancellationToken).ConfigureAwait(false);
        var location = "/runs/" + Uri.EscapeDataString(run.JobId);
        return TypedResults.Accepted(location, new StartRunResponse(run.Id, run.JobId, run.ExecutorName, location, location + "/events", location + "/logs"));
    }

    // A persisted handle (POST /runs' "handle"), rebuilt without a lookup: 400 when it is not a handle, 404 when this
    // host has no such executor or the executor no such run.
    private static async Task<IResult> GetOperationAsync(string handle, TrainingClient client, CancellationToken cancellationToken)
    {
        if (!TrainingRun.TryParse(handle, out _))
        {
            return TrainingProblems.BadHandle(handle);
        }

        if (!client.TryGetOperation(handle, out var operation))
        {
            return TrainingProblems.For(new TrainingException(TrainingErrorCode.UnknownExecutor, $"This host has no executor for the run handle '{handle}'."));
        }

        var status = await operation.UpdateStatusAsync(cancellationToken).ConfigureAwait(false);
        return status.Phase == TrainingPhase.NotFound ? TrainingProblems.UnknownJob(operation.JobId) : TypedResults.Ok(RunView.From(status));
    }

    private static async Task<IResult> ListAsync(string? projectId, string? phase, TrainingClient client, CancellationToken cancellationToken)
    {
        var phases = new List<TrainingPhase>();
        foreach (var name in (phase ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Enum.TryParse<TrainingPhase>(name, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed) || int.TryParse(name, out _))
            {
                return TrainingProblems.Invalid([new TrainingValidationError("phase", name, "must be a comma-separated list of " + string.Join(", ", Enum.GetNames<TrainingPhase>()))]);
            }

            phases.Add(parsed);
        }

        var statuses = await client.ListAsync(new TrainingRunQuery { ProjectId = projectId, Phases = phases.Count > 0 ? phases : null }, cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(statuses.Select(RunView.From).ToArray());
    }

    private static async Task<IResult> GetAsync(string jobId, TrainingClient client, CancellationToken cancellationToken) =>
        await FindAsync(jobId, client, cancellationToken).ConfigureAwait(false) is { } run
        && await run.UpdateStatusAsync(cancellationToken).ConfigureAwait(false) is { Phase: not TrainingPhase.NotFound } status
            ? TypedResults.Ok(RunView.From(status))
            : TrainingProblems.UnknownJob(jobId);

    private static async Task<IResult> GetLogsAsync(
        string jobId,
        int? tail,
        bool? follow,
        bool? timestamps,
        TrainingClient client,
        HttpContext context)
    {
        if (tail is < 0)
        {
            return TrainingProblems.Invalid([new TrainingValidationError("tail", tail.Value.ToString(CultureInfo.InvariantCulture), "must be 0 or more lines")]);
        }

        var aborted = context.RequestAborted;
        if (await FindAsync(jobId, client, aborted).ConfigureAwait(false) is not { } run)
        {
            return TrainingProblems.UnknownJob(jobId);
        }

        var options = new TrainingLogOptions { TailLines = tail, Follow = follow == true, Timestamps = timestamps == true };
        return TypedResults.Stream(
            async body =>
            {
                try
                {
                    if (options.Follow)
                    {
                        // Send the headers now: a followed log may stay silent for a long time.
                        await body.FlushAsync(aborted).ConfigureAwait(false);
                    }

                    await foreach (var line in run.GetLogsAsync(options, aborted).ConfigureAwait(false))
                    {
                        var text = line.Timestamp is { } at ? at.ToString("O", CultureInfo.InvariantCulture) + " " + line.Text : line.Text;
                        await body.WriteAsync(Encoding.UTF8.GetBytes(text + "\n"), aborted).ConfigureAwait(false);
                        if (options.Follow)
                        {
                            // Following is a live view: each line goes out as it is read.
                            await body.FlushAsync(aborted).ConfigureAwait(false);
                        }
                    }
                }
                catch (OperationCanceledException) when (aborted.IsCancellationRequested)
                {
                    // The client went away; the log stream ends with the request.
                }
            },
            "text/plain; charset=utf-8");
    }

    private static async Task<IResult> StopAsync(string jobId, double? graceSeconds, TrainingClient client, CancellationToken cancellationToken)
    {
        if (graceSeconds is < 0 or > 3600 || (graceSeconds is { } g && !double.IsFinite(g)))
        {
            return TrainingProblems.Invalid([new TrainingValidationError("graceSeconds", graceSeconds?.ToString(CultureInfo.InvariantCulture), "must be between 0 and 3600 seconds")]);
        }

        if (await FindAsync(jobId, client, cancellationToken).ConfigureAwait(false) is not { } run)
        {
            return TrainingProblems.UnknownJob(jobId);
        }

        var options = new TrainingStopOptions { GracePeriod = graceSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : null };
        var status = await run.StopAsync(options, cancellationToken).ConfigureAwait(false);
        return status.Phase == TrainingPhase.NotFound ? TrainingProblems.UnknownJob(jobId) : TypedResults.Ok(RunView.From(status));
    }

    internal static async Task<TrainingOperation?> FindAsync(string jobId, TrainingClient client, CancellationToken cancellationToken) =>
        string.IsNullOrWhiteSpace(jobId) ? null : await client.FindAsync(jobId, cancellationToken).ConfigureAwait(false);
}

/// <summary>The answer to <c>POST /runs</c>: the handle to persist and where to follow the run.</summary>
/// <param name="Handle">The operation id (<c>TrainingClient.GetOperation</c> rebuilds the operation).</param>
/// <param name="JobId">The job id.</param>
/// <param name="Executor">The executor that runs it.</param>
/// <param name="Status">The status URL.</param>
/// <param name="Events">The server-sent-events URL.</param>
/// <param name="Logs">The log URL.</param>
public sealed record StartRunResponse(string Handle, string JobId, string Executor, string Status, string Events, string Logs);
