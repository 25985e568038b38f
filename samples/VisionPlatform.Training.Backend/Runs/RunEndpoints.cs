using System.Globalization;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using VisionPlatform.Training.Backend.Problems;
using VisionPlatform.Training.Backend.Security;

namespace VisionPlatform.Training.Backend.Runs;

/// <summary>
/// Starting, reading and stopping runs. Runs are addressed by job id (the training client finds which executor runs
/// each one) or by their persisted handle (<c>GET /operations/{handle}</c>). Errors are problem details, all made by
/// <see cref="TrainingProblems"/> (see its table): 400 names each bad field, its value and the rule; 404 an unknown job
/// id or handle; 409 a job id already used with other settings; 503 no executor can start runs now.
/// Every endpoint is scoped to the caller's project (the token's <c>project</c> claim): a run of another project answers
/// 404 exactly as an unknown one, a start takes its project from the claim whatever the body says, and a list shows only
/// the caller's runs.
/// </summary>
internal static class RunEndpoints
{
    public static IEndpointRouteBuilder MapRunEndpoints(this IEndpointRouteBuilder app)
    {
        var runs = app.MapGroup("/runs");
        runs.MapPost("/", StartAsync).WithStartBodyLimit();
        runs.MapGet("/", ListAsync);
        runs.MapGet("/{jobId}", GetAsync);
        runs.MapGet("/{jobId}/logs", GetLogsAsync);
        runs.MapPost("/{jobId}/stop", StopPostAsync);
        runs.MapDelete("/{jobId}", StopAsync);
        app.MapGet("/operations/{**handle}", GetOperationAsync);
        return app;
    }

    private static async Task<IResult> StartAsync(StartRunRequest request, ClaimsPrincipal user, TrainingClient client, CancellationToken cancellationToken)
    {
        if (AdvancedConfigError(request.AdvancedConfig) is { } advancedError)
        {
            return TrainingProblems.Invalid([advancedError]);
        }

        // The project is the caller's, never the body's: a token for one project cannot start runs in another.
        var builder = (request with { ProjectId = user.Project() }).ToBuilder();
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
    private static async Task<IResult> GetOperationAsync(string handle, ClaimsPrincipal user, TrainingClient client, CancellationToken cancellationToken)
    {
        if (!TrainingRun.TryParse(handle, out _))
        {
            return TrainingProblems.BadHandle(handle);
        }

        if (!client.TryGetOperation(handle, out var operation))
        {
            return TrainingProblems.For(new TrainingException(TrainingErrorCode.UnknownExecutor, $"This host has no executor for the run handle '{handle}'."));
        }

        if (!await InProjectAsync(operation.JobId, user.Project(), client, cancellationToken).ConfigureAwait(false))
        {
            return TrainingProblems.UnknownJob(operation.JobId);
        }

        var status = await operation.UpdateStatusAsync(cancellationToken).ConfigureAwait(false);
        return status.Phase == TrainingPhase.NotFound ? TrainingProblems.UnknownJob(operation.JobId) : TypedResults.Ok(RunView.From(status));
    }

    // ?projectId= is accepted for compatibility but only the caller's own project can be listed.
    private static async Task<IResult> ListAsync(string? projectId, string? phase, ClaimsPrincipal user, TrainingClient client, CancellationToken cancellationToken)
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

        var project = user.Project();
        if (projectId is not null && !string.Equals(projectId, project, StringComparison.Ordinal))
        {
            return TypedResults.Ok(Array.Empty<RunView>());
        }

        var statuses = await client.ListAsync(new TrainingRunQuery { ProjectId = project, Phases = phases.Count > 0 ? phases : null }, cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(statuses.Select(RunView.From).ToArray());
    }

    private static async Task<IResult> GetAsync(string jobId, ClaimsPrincipal user, TrainingClient client, CancellationToken cancellationToken) =>
        await FindAsync(jobId, user, client, cancellationToken).ConfigureAwait(false) is { } run
        && await run.UpdateStatusAsync(cancellationToken).ConfigureAwait(false) is { Phase: not TrainingPhase.NotFound } status
            ? TypedResults.Ok(RunView.From(status))
            : TrainingProblems.UnknownJob(jobId);

    private static async Task<IResult> GetLogsAsync(
        string jobId,
        int? tail,
        bool? follow,
        bool? timestamps,
        ClaimsPrincipal user,
        TrainingClient client,
        HttpContext context)
    {
        if (tail is < 0)
        {
            return TrainingProblems.Invalid([new TrainingValidationError("tail", tail.Value.ToString(CultureInfo.InvariantCulture), "must be 0 or more lines")]);
        }

        var aborted = context.RequestAborted;
        if (await FindAsync(jobId, user, client, aborted).ConfigureAwait(false) is not { } run)
        {
            return TrainingProblems.UnknownJob(jobId);
        }

        var options = new TrainingLogOptions { TailLines = tail, Follow = follow == true, Timestamps = timestamps == true };
        return TypedResults.Stream(
            async body =>
            {
                try
                {
                    var lines = run.GetLogsAsync(options, aborted).GetAsyncEnumerator(aborted);
                    await using (lines.ConfigureAwait(false))
                    {
                        // Reading begins before the headers go out: a follow takes its starting point (the tail) when it
                        // begins, so a client that has the headers knows every line written from then on is streamed.
                        var next = lines.MoveNextAsync();
                        if (options.Follow)
                        {
                            // Send the headers now: a followed log may stay silent for a long time.
                            await body.FlushAsync(aborted).ConfigureAwait(false);
                        }

                        while (await next.ConfigureAwait(false))
                        {
                            var line = lines.Current;
                            var text = line.Timestamp is { } at ? at.ToString("O", CultureInfo.InvariantCulture) + " " + line.Text : line.Text;
                            await body.WriteAsync(Encoding.UTF8.GetBytes(text + "\n"), aborted).ConfigureAwait(false);
                            if (options.Follow)
                            {
                                // Following is a live view: each line goes out as it is read.
                                await body.FlushAsync(aborted).ConfigureAwait(false);
                            }

                            next = lines.MoveNextAsync();
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

    private static Task<IResult> StopPostAsync(string jobId, double? graceSeconds, ClaimsPrincipal user, HttpRequest request, TrainingClient client, CancellationToken cancellationToken) =>
        // A body-less POST is what a cross-site HTML form sends; it needs JSON or the custom header to count.
        RequestGuards.IsNotAFormPost(request)
            ? StopAsync(jobId, graceSeconds, user, client, cancellationToken)
            : Task.FromResult(TrainingProblems.FormPostRefused());

    private static async Task<IResult> StopAsync(string jobId, double? graceSeconds, ClaimsPrincipal user, TrainingClient client, CancellationToken cancellationToken)
    {
        if (graceSeconds is < 0 or > 3600 || (graceSeconds is { } g && !double.IsFinite(g)))
        {
            return TrainingProblems.Invalid([new TrainingValidationError("graceSeconds", graceSeconds?.ToString(CultureInfo.InvariantCulture), "must be between 0 and 3600 seconds")]);
        }

        if (await FindAsync(jobId, user, client, cancellationToken).ConfigureAwait(false) is not { } run)
        {
            return TrainingProblems.UnknownJob(jobId);
        }

        var options = new TrainingStopOptions { GracePeriod = graceSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : null };
        var status = await run.StopAsync(options, cancellationToken).ConfigureAwait(false);
        return status.Phase == TrainingPhase.NotFound ? TrainingProblems.UnknownJob(jobId) : TypedResults.Ok(RunView.From(status));
    }

    /// <summary>The caller's run with this job id, or null when there is none in the caller's project (another project's run is never revealed).</summary>
    internal static async Task<TrainingOperation?> FindAsync(string jobId, ClaimsPrincipal user, TrainingClient client, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(jobId))
        {
            return null;
        }

        var statuses = await client.ListAsync(new TrainingRunQuery { ProjectId = user.Project() }, cancellationToken).ConfigureAwait(false);
        return statuses.FirstOrDefault(s => string.Equals(s.JobId, jobId, StringComparison.Ordinal)) is { } status ? client.GetOperation(status.Run) : null;
    }

    /// <summary>True when the run with this job id belongs to <paramref name="project"/>.</summary>
    internal static async Task<bool> InProjectAsync(string jobId, string project, TrainingClient client, CancellationToken cancellationToken) =>
        (await client.ListAsync(new TrainingRunQuery { ProjectId = project }, cancellationToken).ConfigureAwait(false))
            .Any(s => string.Equals(s.JobId, jobId, StringComparison.Ordinal));

    /// <summary>
    /// <c>advancedConfig</c> must be one JSON object of at most <see cref="BackendLimitsOptions.MaxAdvancedConfigBytes"/>
    /// (what one trainer argument can carry); it reaches the trainer re-serialised, never as the client's raw text.
    /// </summary>
    internal static TrainingValidationError? AdvancedConfigError(JsonElement? advancedConfig)
    {
        if (advancedConfig is not { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) } json)
        {
            return null;
        }

        if (json.ValueKind != JsonValueKind.Object)
        {
            return new("advancedConfig", json.ValueKind.ToString().ToLowerInvariant(), "must be a JSON object");
        }

        var bytes = JsonSerializer.SerializeToUtf8Bytes(json).Length;
        return bytes > BackendLimitsOptions.MaxAdvancedConfigBytes
            ? new("advancedConfig", $"({bytes} bytes)", $"must be at most {BackendLimitsOptions.MaxAdvancedConfigBytes} bytes of JSON (what one trainer argument can carry)")
            : null;
    }
}

/// <summary>The answer to <c>POST /runs</c>: the handle to persist and where to follow the run.</summary>
/// <param name="Handle">The operation id (<c>TrainingClient.GetOperation</c> rebuilds the operation).</param>
/// <param name="JobId">The job id.</param>
/// <param name="Executor">The executor that runs it.</param>
/// <param name="Status">The status URL.</param>
/// <param name="Events">The server-sent-events URL.</param>
/// <param name="Logs">The log URL.</param>
public sealed record StartRunResponse(string Handle, string JobId, string Executor, string Status, string Events, string Logs);
