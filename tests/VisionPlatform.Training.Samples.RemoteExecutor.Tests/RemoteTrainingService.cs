using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace VisionPlatform.Training.Samples.RemoteExecutor.Tests;

/// <summary>
/// A small but real training service for the tests: Kestrel on 127.0.0.1 serving the contract in RemoteJobContracts.cs,
/// running the demo trainer (samples/trainer/train.py) as a child process per job with an argument list. It keeps one
/// record per job id (idempotent create by config hash, 409 for another hash), a change counter for the change feed,
/// each job's output lines, and stops trainers with SIGTERM, then a kill after the grace period.
/// Faults: <see cref="SwallowCreates"/> applies a create and drops the connection instead of answering.
/// <see cref="DisposeAsync"/> takes the service down: every trainer is killed and the port is closed.
/// </summary>
internal sealed class RemoteTrainingService : IAsyncDisposable
{
    private const int PageSize = 1000;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Job> _jobs = new(StringComparer.Ordinal);
    private readonly string _workDirectory = Path.Combine(Path.GetTempPath(), "vp-remote-service", Guid.NewGuid().ToString("N")[..12]);
    private readonly WebApplication _app;
    private long _version;
    private int _creates;
    private int _runSequence;
    private bool _disposed;

    private RemoteTrainingService(WebApplication app)
    {
        _app = app;
        Map(app);
    }

    public Uri Url => new(_app.Urls.First());

    /// <summary>Creates to apply and then leave unanswered (the connection is aborted); <see cref="int.MaxValue"/> for all.</summary>
    public int SwallowCreates { get; set; }

    /// <summary>Every create request received, answered or not.</summary>
    public int CreateRequests => Volatile.Read(ref _creates);

    /// <summary>Every run the service created (a job id reused after its record expired makes a second one).</summary>
    public List<(string JobId, string RunId)> RunsCreated { get; } = [];

    public static async Task<RemoteTrainingService> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var service = new RemoteTrainingService(builder.Build());
        await service._app.StartAsync();

        // One request before the tests': the first answer of a fresh Kestrel pays for JIT and start-up.
        using var warmUp = new HttpClient { BaseAddress = service.Url, Timeout = TimeSpan.FromSeconds(60) };
        (await warmUp.GetAsync(new Uri("v1/health", UriKind.Relative))).EnsureSuccessStatusCode();
        return service;
    }

    /// <summary>Removes a finished job's record, as the service's retention would: the job id is free again.</summary>
    public void Expire(string jobId)
    {
        lock (_gate)
        {
            _jobs[jobId].IsFinal.Should().BeTrue("only finished records expire");
            _jobs.Remove(jobId);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Job[] jobs;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            jobs = [.. _jobs.Values];
        }

        await _app.StopAsync();
        await _app.DisposeAsync();
        foreach (var job in jobs)
        {
            await job.KillAsync();
        }

        try
        {
            Directory.Delete(_workDirectory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (IOException)
        {
            // A trainer that is still exiting may hold a file for a moment; the temp directory is cleaned by the OS.
        }
    }

    private static bool Matches(RemoteJobRecord record, string? projectId, IEnumerable<string> labels) =>
        (projectId is null || record.ProjectId == projectId) &&
        labels.Select(l => l.Split('=', 2)).All(kv => kv.Length == 2 && record.Labels.TryGetValue(kv[0], out var v) && v == kv[1]);

    private void Map(WebApplication app)
    {
        app.MapGet("/v1/health", () => Results.Ok(new { status = "ok" }));

        app.MapPost("/v1/jobs", (RemoteJobRequest request, HttpContext context) =>
        {
            Interlocked.Increment(ref _creates);
            Job job;
            bool created;
            lock (_gate)
            {
                if (_jobs.TryGetValue(request.JobId, out var existing))
                {
                    if (existing.Request.ConfigHash != request.ConfigHash)
                    {
                        return Results.Conflict(new { error = $"job '{request.JobId}' exists with another config" });
                    }

                    job = existing;
                    created = false;
                }
                else
                {
                    var runId = "r" + (++_runSequence).ToString("D4", CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..8];
                    job = new Job(this, request, runId, TimeProvider.System.GetUtcNow());
                    _jobs.Add(request.JobId, job);
                    RunsCreated.Add((request.JobId, runId));
                    job.Touch();
                    created = true;
                }
            }

            // The answer describes the job as it was accepted (queued), as a real scheduler's create does.
            var record = job.Snapshot();
            if (created)
            {
                job.Launch(Path.Combine(_workDirectory, job.RunId));
            }

            if (SwallowCreates > 0)
            {
                if (SwallowCreates != int.MaxValue)
                {
                    SwallowCreates--;
                }

                // Applied, never answered: the client sees the connection end without a response.
                context.Abort();
                return Results.Empty;
            }

            return created ? Results.Created($"/v1/jobs/{record.JobId}", record) : Results.Ok(record);
        });

        app.MapGet("/v1/jobs/{jobId}", (string jobId) => Find(jobId) is { } job ? Results.Ok(job.Snapshot()) : Results.NotFound());

        app.MapGet("/v1/jobs", (long? since, string? projectId, HttpRequest http) =>
        {
            lock (_gate)
            {
                var labels = http.Query["label"].OfType<string>().ToArray();
                var jobs = _jobs.Values.Select(j => j.Snapshot()).Where(r => r.Version > (since ?? 0) && Matches(r, projectId, labels)).OrderBy(r => r.Version).ToArray();
                return Results.Ok(new RemoteJobPage { Version = _version, Jobs = jobs });
            }
        });

        app.MapGet("/v1/jobs/{jobId}/logs", (string jobId, int? from, int? tail) =>
            Find(jobId) is { } job ? Results.Ok(job.Logs(from, tail)) : Results.NotFound());

        app.MapPost("/v1/jobs/{jobId}/stop", async (string jobId, string? runId, double? graceSeconds) =>
        {
            if (Find(jobId) is not { } job || (runId is not null && runId != job.RunId))
            {
                return Results.NotFound();
            }

            await job.StopAsync(TimeSpan.FromSeconds(graceSeconds ?? 10));
            return Results.Ok(job.Snapshot());
        });
    }

    private Job? Find(string jobId)
    {
        lock (_gate)
        {
            return _jobs.GetValueOrDefault(jobId);
        }
    }

    private long NextVersion() => Interlocked.Increment(ref _version);

    private sealed class Job(RemoteTrainingService service, RemoteJobRequest request, string runId, DateTimeOffset createdAt)
    {
        private readonly List<RemoteLogLine> _lines = [];
        private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private Process? _process;
        private string _state = RemoteJobStates.Queued;
        private string? _reason;
        private string? _message;
        private DateTimeOffset? _startedAt;
        private DateTimeOffset? _finishedAt;
        private int? _exitCode;
        private bool _stopRequested;
        private long _recordVersion;

        public RemoteJobRequest Request { get; } = request;

        public string RunId { get; } = runId;

        public bool IsFinal
        {
            get
            {
                lock (_lines)
                {
                    return _state is RemoteJobStates.Succeeded or RemoteJobStates.Failed or RemoteJobStates.Stopped;
                }
            }
        }

        public void Touch()
        {
            lock (_lines)
            {
                _recordVersion = service.NextVersion();
            }
        }

        public RemoteJobRecord Snapshot()
        {
            lock (_lines)
            {
                return new RemoteJobRecord
                {
                    JobId = Request.JobId,
                    RunId = RunId,
                    ConfigHash = Request.ConfigHash,
                    State = _state,
                    Reason = _reason,
                    Message = _message,
                    CreatedAt = createdAt,
                    StartedAt = _startedAt,
                    FinishedAt = _finishedAt,
                    ExitCode = _exitCode,
                    ProjectId = Request.ProjectId,
                    Labels = Request.Labels,
                    Resources = Request.Resources,
                    Version = _recordVersion,
                };
            }
        }

        public RemoteLogPage Logs(int? from, int? tail)
        {
            lock (_lines)
            {
                var start = tail is { } t ? Math.Max(0, _lines.Count - t) : Math.Clamp(from ?? 0, 0, _lines.Count);
                var lines = _lines.Skip(start).Take(PageSize).ToArray();
                var next = start + lines.Length;
                var final = _state is RemoteJobStates.Succeeded or RemoteJobStates.Failed or RemoteJobStates.Stopped;
                return new RemoteLogPage { From = start, Next = next, Lines = lines, Complete = final && next == _lines.Count };
            }
        }

        public void Launch(string outputDirectory)
        {
            Directory.CreateDirectory(outputDirectory);
            var info = new ProcessStartInfo("python3")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = outputDirectory,
            };
            foreach (var argument in Arguments(outputDirectory))
            {
                info.ArgumentList.Add(argument);
            }

            foreach (var (name, value) in Request.Environment)
            {
                info.Environment[name] = value;
            }

            info.Environment["PYTHONUNBUFFERED"] = "1";
            _ = Task.Run(() => RunAsync(info));
        }

        public async Task StopAsync(TimeSpan grace)
        {
            Process? process;
            lock (_lines)
            {
                if (_state is RemoteJobStates.Succeeded or RemoteJobStates.Failed or RemoteJobStates.Stopped)
                {
                    return;
                }

                _stopRequested = true;
                process = _process;
            }

            if (process is not null)
            {
                Signal(process.Id);
                try
                {
                    await _exited.Task.WaitAsync(grace);
                }
                catch (TimeoutException)
                {
                    process.Kill(entireProcessTree: true);
                }
            }

            await _exited.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }

        public async Task KillAsync()
        {
            Process? process;
            lock (_lines)
            {
                _stopRequested = true;
                process = _process;
            }

            try
            {
                process?.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already exited.
            }

            try
            {
                await _exited.Task.WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch (TimeoutException)
            {
                // Reported by the test that waits for it; the process tree was killed.
            }
        }

        private static void Signal(int pid)
        {
            // SIGTERM, as a scheduler would send it; the trainer writes a checkpoint and exits 143.
            var kill = new ProcessStartInfo("kill") { UseShellExecute = false };
            kill.ArgumentList.Add("-TERM");
            kill.ArgumentList.Add(pid.ToString(CultureInfo.InvariantCulture));
            using var process = Process.Start(kill);
            process?.WaitForExit();
        }

        private List<string> Arguments(string outputDirectory)
        {
            var inv = CultureInfo.InvariantCulture;
            var args = new List<string>
            {
                RepoPaths.TrainerScript,
                "--framework", Request.Framework,
                "--task_type", Request.TaskType,
                "--model_name", Request.ModelName,
                "--dataset_path", Request.DatasetPath,
                "--dataset_format", Request.DatasetFormat,
                "--epochs", Request.Epochs.ToString(inv),
                "--batch_size", Request.BatchSize.ToString(inv),
                "--learning_rate", Request.LearningRate.ToString("R", inv),
                "--optimizer", Request.Optimizer,
                "--output_dir", outputDirectory,
                "--job_id", Request.JobId,
                "--job_type", Request.JobType,
            };
            if (Request.AdvancedConfig is { } advanced)
            {
                args.Add("--advanced_config");
                args.Add(advanced);
            }

            return args;
        }

        private async Task RunAsync(ProcessStartInfo info)
        {
            try
            {
                var process = new Process { StartInfo = info };
                lock (_lines)
                {
                    if (_stopRequested)
                    {
                        Finish(RemoteJobStates.Stopped, TrainingStatusReasons.StoppedByUser, null, null);
                        return;
                    }

                    process.Start();
                    _process = process;
                    _state = RemoteJobStates.Running;
                    _reason = TrainingStatusReasons.Running;
                    _startedAt = TimeProvider.System.GetUtcNow();
                    _recordVersion = service.NextVersion();
                }

                // Both streams to the end, then the exit: the record turns final only when every line is in the log.
                await Task.WhenAll(ReadAsync(process.StandardOutput), ReadAsync(process.StandardError));
                await process.WaitForExitAsync();
                lock (_lines)
                {
                    var code = process.ExitCode;
                    if (_stopRequested)
                    {
                        Finish(RemoteJobStates.Stopped, TrainingStatusReasons.StoppedByUser, "stopped on request", code);
                    }
                    else if (code == 0)
                    {
                        Finish(RemoteJobStates.Succeeded, TrainingStatusReasons.Completed, null, code);
                    }
                    else
                    {
                        Finish(RemoteJobStates.Failed, TrainingStatusReasons.NonZeroExitCode, _lines.LastOrDefault()?.Text, code);
                    }
                }

                process.Dispose();
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
            {
                lock (_lines)
                {
                    Finish(RemoteJobStates.Failed, TrainingStatusReasons.LaunchFailed, e.Message, null);
                }
            }
            finally
            {
                _exited.TrySetResult();
            }
        }

        private void Finish(string state, string reason, string? message, int? exitCode)
        {
            _state = state;
            _reason = reason;
            _message = message;
            _exitCode = exitCode;
            _finishedAt = TimeProvider.System.GetUtcNow();
            _recordVersion = service.NextVersion();
        }

        private async Task ReadAsync(StreamReader reader)
        {
            while (await reader.ReadLineAsync() is { } line)
            {
                lock (_lines)
                {
                    _lines.Add(new RemoteLogLine { Text = line, Time = TimeProvider.System.GetUtcNow() });
                }
            }
        }
    }
}
