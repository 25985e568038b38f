using System.Text.Json.Serialization;

namespace VisionPlatform.Training.Samples.RemoteExecutor;

// The remote training service's wire contract (JSON, camelCase). A team writing an executor for its own service keeps
// these next to the client; the sample's tests serve the same contract from a real HTTP server.
//
//   GET  /v1/health                         200 when the service takes jobs
//   POST /v1/jobs              RemoteJobRequest  201 created, 200 the same job id with the same config hash (idempotent),
//                                                409 the job id exists with another config hash
//   GET  /v1/jobs/{jobId}                   RemoteJobRecord, 404 unknown (never created, or its retention ended)
//   GET  /v1/jobs?since=&projectId=&label=k=v&state=   RemoteJobPage: records changed after version `since`, filtered
//   GET  /v1/jobs/{jobId}/logs?from=&tail=  RemoteLogPage: lines from index `from` (or the last `tail`), and whether the log is complete
//   POST /v1/jobs/{jobId}/stop?graceSeconds=  RemoteJobRecord once the trainer exited (the record is kept)

/// <summary>The states of a job on the remote service.</summary>
public static class RemoteJobStates
{
    /// <summary>Accepted, not running yet.</summary>
    public const string Queued = "queued";

    /// <summary>The trainer is running.</summary>
    public const string Running = "running";

    /// <summary>The trainer exited with 0.</summary>
    public const string Succeeded = "succeeded";

    /// <summary>The trainer exited with another code, or could not be launched.</summary>
    public const string Failed = "failed";

    /// <summary>Stopped on request.</summary>
    public const string Stopped = "stopped";
}

/// <summary>Resources a job asks the service for.</summary>
public sealed record RemoteJobResources
{
    /// <summary>GPUs.</summary>
    public int Gpus { get; init; }

    /// <summary>CPU request as a quantity (<c>500m</c>, <c>2</c>).</summary>
    public string? CpuRequest { get; init; }

    /// <summary>Memory request as a quantity.</summary>
    public string? MemoryRequest { get; init; }
}

/// <summary>The body of <c>POST /v1/jobs</c>: the job, its config hash (the idempotency key with the job id) and its labels.</summary>
public sealed record RemoteJobRequest
{
    /// <summary>The caller's job id; one record per job id while the service keeps it.</summary>
    public required string JobId { get; init; }

    /// <summary><see cref="TrainingJobConfig.ConfigHash"/>: a repeated create with the same hash returns the existing record.</summary>
    public required string ConfigHash { get; init; }

    /// <summary>training, evaluation, inference or export.</summary>
    public required string JobType { get; init; }

    /// <summary>The framework.</summary>
    public required string Framework { get; init; }

    /// <summary>The task type.</summary>
    public required string TaskType { get; init; }

    /// <summary>The model.</summary>
    public required string ModelName { get; init; }

    /// <summary>The dataset.</summary>
    public required string DatasetPath { get; init; }

    /// <summary>The dataset's format.</summary>
    public required string DatasetFormat { get; init; }

    /// <summary>Epochs.</summary>
    public int Epochs { get; init; }

    /// <summary>Batch size.</summary>
    public int BatchSize { get; init; }

    /// <summary>Learning rate.</summary>
    public double LearningRate { get; init; }

    /// <summary>Optimizer.</summary>
    public required string Optimizer { get; init; }

    /// <summary>Image size.</summary>
    public int? ImageSize { get; init; }

    /// <summary>Number of classes.</summary>
    public int? NumClasses { get; init; }

    /// <summary>Start from pretrained weights.</summary>
    public bool Pretrained { get; init; }

    /// <summary>Framework-specific settings as a JSON object.</summary>
    public string? AdvancedConfig { get; init; }

    /// <summary>The project, for listing.</summary>
    public string? ProjectId { get; init; }

    /// <summary>Labels, for listing.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>Plain (non-secret) environment variables for the trainer.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>Resources.</summary>
    public RemoteJobResources Resources { get; init; } = new();
}

/// <summary>A job as the service keeps it.</summary>
public sealed record RemoteJobRecord
{
    /// <summary>The caller's job id.</summary>
    public required string JobId { get; init; }

    /// <summary>The service's id for this run of the job id (a new one after the record expired and the id was reused).</summary>
    public required string RunId { get; init; }

    /// <summary>The config hash the job was created with.</summary>
    public required string ConfigHash { get; init; }

    /// <summary>One of <see cref="RemoteJobStates"/>.</summary>
    public required string State { get; init; }

    /// <summary>A machine-readable reason (the service uses the SDK's <see cref="TrainingStatusReasons"/> names).</summary>
    public string? Reason { get; init; }

    /// <summary>A human-readable message.</summary>
    public string? Message { get; init; }

    /// <summary>When the service accepted the job.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the trainer started.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>When the job reached a final state.</summary>
    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>The trainer's exit code.</summary>
    public int? ExitCode { get; init; }

    /// <summary>The project.</summary>
    public string? ProjectId { get; init; }

    /// <summary>Labels.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>Resources (the executor prices the run from them).</summary>
    public RemoteJobResources Resources { get; init; } = new();

    /// <summary>The service's change counter when this record last changed.</summary>
    public long Version { get; init; }

    /// <summary>Whether the job is in a final state.</summary>
    [JsonIgnore]
    public bool IsFinal => State is RemoteJobStates.Succeeded or RemoteJobStates.Failed or RemoteJobStates.Stopped;
}

/// <summary>The answer of <c>GET /v1/jobs</c>.</summary>
public sealed record RemoteJobPage
{
    /// <summary>The service's change counter now: pass it as <c>since</c> to get only later changes.</summary>
    public long Version { get; init; }

    /// <summary>The matching records.</summary>
    public IReadOnlyList<RemoteJobRecord> Jobs { get; init; } = [];
}

/// <summary>One log line.</summary>
public sealed record RemoteLogLine
{
    /// <summary>The text, without the line break.</summary>
    public required string Text { get; init; }

    /// <summary>When the service read it from the trainer.</summary>
    public DateTimeOffset Time { get; init; }
}

/// <summary>The answer of <c>GET /v1/jobs/{jobId}/logs</c>.</summary>
public sealed record RemoteLogPage
{
    /// <summary>The index of the first line returned.</summary>
    public int From { get; init; }

    /// <summary>The index to ask for next (<c>from</c>).</summary>
    public int Next { get; init; }

    /// <summary>The lines.</summary>
    public IReadOnlyList<RemoteLogLine> Lines { get; init; } = [];

    /// <summary>Whether the trainer has exited and every line is in the log (nothing will be added).</summary>
    public bool Complete { get; init; }
}
