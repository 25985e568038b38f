namespace VisionPlatform.Training.Testing.Tests.Sample;

// A backend service as a team would write it: minimal API endpoints call it, it talks to TrainingClient only.
// The tests in TrainingJobsServiceTests show how to test it with the in-memory executor: copy both.
//
//   app.MapPost("/training-jobs", async (StartTrainingRequest r, TrainingJobsService s, CancellationToken ct) =>
//       await s.StartAsync(r, ct) switch
//       {
//           { Outcome: StartOutcome.Started } x => Results.Accepted($"/training-jobs/{Uri.EscapeDataString(x.Handle!)}", x),
//           { Outcome: StartOutcome.Invalid } x => Results.ValidationProblem(x.Errors!),
//           { Outcome: StartOutcome.Conflict } x => Results.Conflict(x.Message),
//           var x => Results.Problem(x.Message, statusCode: 503),
//       });
//   app.MapGet("/training-jobs/{handle}", async (string handle, TrainingJobsService s, CancellationToken ct) =>
//       await s.GetAsync(handle, ct) is { } job ? Results.Ok(job) : Results.NotFound());

/// <summary>What a client posts to start a training job.</summary>
public sealed record StartTrainingRequest(
    string JobId,
    string ProjectId,
    string Framework,
    string TaskType,
    string ModelName,
    string DatasetPath,
    string DatasetFormat,
    int Epochs = 10,
    int BatchSize = 16);

/// <summary>How a start request ended.</summary>
public enum StartOutcome
{
    Started,
    Invalid,
    Conflict,
    Unavailable,
}

/// <summary>The result of a start request: a handle to store, or why there is none.</summary>
public sealed record StartTrainingResult(
    StartOutcome Outcome,
    string? Handle = null,
    IDictionary<string, string[]>? Errors = null,
    string? Message = null);

/// <summary>What the API returns for a job.</summary>
public sealed record TrainingJobDto(
    string Handle,
    string JobId,
    string State,
    string Reason,
    string? Message,
    int? ExitCode,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt);

/// <summary>The backend's training use cases.</summary>
public sealed class TrainingJobsService(TrainingClient client)
{
    public async Task<StartTrainingResult> StartAsync(StartTrainingRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var builder = new TrainingJobConfigBuilder
        {
            JobId = request.JobId,
            ProjectId = request.ProjectId,
            Framework = request.Framework,
            TaskType = request.TaskType,
            ModelName = request.ModelName,
            DatasetPath = request.DatasetPath,
            DatasetFormat = request.DatasetFormat,
            Epochs = request.Epochs,
            BatchSize = request.BatchSize,
            Labels = { ["project-id"] = request.ProjectId },
        };

        var errors = builder.Validate();
        if (errors.Count > 0)
        {
            return new StartTrainingResult(
                StartOutcome.Invalid,
                Errors: errors.GroupBy(e => e.Field).ToDictionary(g => g.Key, g => g.Select(e => e.ToString()).ToArray()));
        }

        try
        {
            var operation = await client.StartAsync(builder.Build(), cancellationToken: cancellationToken);
            return new StartTrainingResult(StartOutcome.Started, Handle: operation.Id);
        }
        catch (TrainingException e) when (e.Code == TrainingErrorCode.JobConflict)
        {
            return new StartTrainingResult(StartOutcome.Conflict, Message: e.Message);
        }
        catch (TrainingException e) when (e.Code == TrainingErrorCode.ExecutorUnavailable)
        {
            return new StartTrainingResult(StartOutcome.Unavailable, Message: e.Message);
        }
    }

    /// <summary>The job behind a stored handle, or null when the handle is malformed or the run is unknown.</summary>
    public async Task<TrainingJobDto?> GetAsync(string handle, CancellationToken cancellationToken = default)
    {
        if (!client.TryGetOperation(handle, out var operation))
        {
            return null;
        }

        var status = await operation.UpdateStatusAsync(cancellationToken);
        return status.Phase == TrainingPhase.NotFound ? null : ToDto(status);
    }

    public async Task<TrainingJobDto?> CancelAsync(string handle, CancellationToken cancellationToken = default)
    {
        if (!client.TryGetOperation(handle, out var operation))
        {
            return null;
        }

        var status = await operation.StopAsync(cancellationToken: cancellationToken);
        return status.Phase == TrainingPhase.NotFound ? null : ToDto(status);
    }

    public async Task<IReadOnlyList<TrainingJobDto>> ListProjectAsync(string projectId, bool activeOnly, CancellationToken cancellationToken = default)
    {
        var statuses = await client.ListAsync(
            new TrainingRunQuery
            {
                ProjectId = projectId,
                Phases = activeOnly ? [TrainingPhase.Pending, TrainingPhase.Running] : null,
            },
            cancellationToken);
        return statuses.Select(ToDto).ToArray();
    }

    public async Task<IReadOnlyList<string>> GetLogTailAsync(string handle, int lines, CancellationToken cancellationToken = default)
    {
        var result = new List<string>();
        await foreach (var line in client.GetOperation(handle).GetLogsAsync(new TrainingLogOptions { TailLines = lines }, cancellationToken))
        {
            result.Add(line.Text);
        }

        return result;
    }

    /// <summary>Waits for the job to finish (a background worker would do this and notify users).</summary>
    public async Task<TrainingJobDto> WaitAsync(string handle, CancellationToken cancellationToken = default)
    {
        var status = await client.GetOperation(handle).WaitForCompletionAsync(cancellationToken);
        return ToDto(status);
    }

    private static TrainingJobDto ToDto(TrainingRunStatus s) => new(
        s.Run.ToString(),
        s.JobId,
        s.Phase switch
        {
            TrainingPhase.Pending => "queued",
            TrainingPhase.Running => "running",
            TrainingPhase.Succeeded => "succeeded",
            TrainingPhase.Failed => "failed",
            TrainingPhase.Stopped => "cancelled",
            _ => "unknown",
        },
        s.Reason,
        s.Message,
        s.ExitCode,
        s.StartedAt,
        s.FinishedAt);
}
