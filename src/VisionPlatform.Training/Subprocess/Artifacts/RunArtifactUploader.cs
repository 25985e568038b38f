using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using VisionPlatform.Training.Storage;
using VisionPlatform.Training.Subprocess.Coordination;
using VisionPlatform.Training.Subprocess.Runs;

namespace VisionPlatform.Training.Subprocess.Artifacts;

/// <summary>
/// Uploads the output directory and log of subprocess runs once they end, with the same layout a Kubernetes trainer
/// writes (<see cref="IArtifactStore.UploadRunAsync"/>). The progress lives in the run's <c>state.json</c>
/// (<see cref="RunStateDocument.ArtifactUpload"/>): a run created with storage configured starts as Pending, so an
/// upload that never finished (host restart, shutdown, storage down) is found and resumed by the next executor.
/// Each final state (Uploaded, Failed, Skipped) is published as a <see cref="TrainingArtifactUploadEvent"/> once it is
/// logged and saved; the intermediate states (Uploading, Pending between attempts) are only in the status.
/// </summary>
internal sealed class RunArtifactUploader : IAsyncDisposable, IDisposable
{
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMinutes(10);

    private readonly IArtifactStore _store;

    // One upload per run per OS process, however many executor instances share a runs directory.
    private readonly RunClaims _claims;
    private readonly int _attempts;
    private readonly TimeSpan _retryDelay;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ITrainingEventPublisher? _events;
    // Not disposed: it has no timer, and a late Track (a run adopted during shutdown) may still read its token.
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<string, Task> _uploads = new(StringComparer.Ordinal);
    private int _disposed;

    public RunArtifactUploader(IArtifactStore store, RunClaims claims, SubprocessExecutorOptions options, TimeProvider time, ILogger logger, ITrainingEventPublisher? events = null)
    {
        _store = store;
        _claims = claims;
        _attempts = Math.Max(1, options.UploadAttempts);
        _retryDelay = options.UploadRetryDelay < TimeSpan.Zero ? TimeSpan.Zero : options.UploadRetryDelay;
        _time = time;
        _logger = logger;
        _events = events;
    }

    /// <summary>The upload state of a new run: uploaded when it ends.</summary>
    public static ArtifactUploadStatus Initial { get; } = new()
    {
        State = ArtifactUploadState.Pending,
        Message = "The outputs are uploaded to object storage when the run ends.",
    };

    /// <summary>
    /// Uploads the run after it ends, unless its upload is already final or someone in this process is at it. A Failed
    /// upload found here (a new executor) gets another round of attempts.
    /// </summary>
    /// <param name="entry">The run.</param>
    public void Track(RunEntry entry)
    {
        if (Current(entry) is not { State: not (ArtifactUploadState.Uploaded or ArtifactUploadState.Skipped) } ||
            Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        var key = entry.Paths.Directory;
        if (!_claims.TryClaim(key))
        {
            return;
        }

        var task = Task.Run(() => UploadWhenEndedAsync(entry, _stopping.Token));
        _uploads[key] = task;
        _ = task.ContinueWith(
            t => _uploads.TryRemove(new KeyValuePair<string, Task>(key, t)),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>
    /// Waits until the run's upload is final (which includes waiting for the run to end), or returns its current state
    /// when this executor does not upload it.
    /// </summary>
    /// <param name="entry">The run.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The upload state, or <see langword="null"/> when the run is not uploaded.</returns>
    public async Task<ArtifactUploadStatus?> WaitAsync(RunEntry entry, CancellationToken cancellationToken)
    {
        while (true)
        {
            var changed = entry.Changed;
            var current = Current(entry);
            if (current is null || current.IsFinal)
            {
                return current;
            }

            if (!_uploads.ContainsKey(entry.Paths.Directory))
            {
                // Nobody here will change it (read again: the upload may have ended just now).
                return Current(entry);
            }

            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Cancels uploads in progress (they stay Pending on disk and are resumed by the next executor) and waits for them.</summary>
    /// <returns>A task that completes when every upload task has ended.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_uploads.Values).ConfigureAwait(false);
    }

    /// <summary>Same as <see cref="DisposeAsync"/>, waiting at most 30 seconds.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping.Cancel();

        // Cancelled requests end promptly; the bound only protects a host's shutdown from a hung socket.
        Task.WaitAll([.. _uploads.Values], TimeSpan.FromSeconds(30));
    }

    private static ArtifactUploadStatus? Current(RunEntry entry)
    {
        lock (entry.Sync)
        {
            return entry.State.ArtifactUpload;
        }
    }

    private async Task UploadWhenEndedAsync(RunEntry entry, CancellationToken cancellationToken)
    {
        var jobId = entry.Handle.JobId;
        try
        {
            await entry.Terminal.WaitAsync(cancellationToken).ConfigureAwait(false);
            await UploadAsync(entry, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested && e is not OutOfMemoryException)
        {
            // Shutting down: whatever the interrupted request threw, the upload is resumed by the next executor.
            if (entry.IsTerminal)
            {
                RecordInterrupted(entry);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Only the run's state.json cannot be written (its directory was removed, the disk is full).
            ArtifactUploadLog.RecordFailed(_logger, jobId, entry.Paths.Directory, e);
        }
        finally
        {
            _claims.Release(entry.Paths.Directory);
        }
    }

    private async Task UploadAsync(RunEntry entry, CancellationToken cancellationToken)
    {
        var jobId = entry.Handle.JobId;
        int earlierAttempts;
        bool started;
        lock (entry.Sync)
        {
            earlierAttempts = entry.State.ArtifactUpload?.Attempts ?? 0;
            started = entry.State.StartedAt is not null;
        }

        if (!started)
        {
            // Each outcome is logged before it is recorded: recording publishes it, and whoever it wakes sees the log entry.
            ArtifactUploadLog.Skipped(_logger, jobId);
            Record(entry, ArtifactUploadState.Skipped, "The trainer never started; there is nothing to upload.", earlierAttempts, final: true);
            return;
        }

        var bucket = _store.Bucket;
        var prefix = _store.GetRunPrefix(jobId);
        for (var round = 1; ; round++)
        {
            var attempt = earlierAttempts + round;
            Record(entry, ArtifactUploadState.Uploading, $"Uploading to s3://{bucket}/{prefix} (attempt {round} of {_attempts}).", attempt, final: false);
            ArtifactUploadLog.Uploading(_logger, jobId, bucket, prefix, round, _attempts);
            try
            {
                // The trainer writes its log itself; a run that was lost before launching has none. A log that is a
                // symbolic link (or a FIFO, ...) is not followed: it could point anywhere the host can read.
                var log = Native.SafeFiles.IsRegularFile(entry.Paths.LogFile) ? entry.Paths.LogFile : null;
                var result = await _store.UploadRunAsync(jobId, entry.Paths.OutputDirectory, log, cancellationToken).ConfigureAwait(false);
                ArtifactUploadLog.Uploaded(_logger, jobId, result.Artifacts.Count, result.TotalBytes, result.Bucket, result.RunPrefix);
                Record(
                    entry,
                    ArtifactUploadState.Uploaded,
                    $"Uploaded {result.Artifacts.Count} files ({result.TotalBytes.ToString(CultureInfo.InvariantCulture)} bytes) to s3://{result.Bucket}/{result.RunPrefix}.",
                    attempt,
                    final: true);
                return;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is not OutOfMemoryException)
            {
                var error = Describe(e);
                if (round >= _attempts || (e is TrainingException failure && failure.Code == TrainingErrorCode.ValidationFailed))
                {
                    // Bad input (a missing output directory, a reserved file name) fails the same way every time.
                    ArtifactUploadLog.UploadFailed(_logger, jobId, round, e.GetType().Name, e.Message, entry.Paths.OutputDirectory);
                    Record(entry, ArtifactUploadState.Failed, $"The upload failed after {round} attempt(s): {error}", attempt, final: true);
                    return;
                }

                var delay = DelayBefore(round + 1);
                ArtifactUploadLog.AttemptFailed(_logger, jobId, round, _attempts, e.GetType().Name, e.Message, delay);
                Record(
                    entry,
                    ArtifactUploadState.Pending,
                    $"Attempt {round} of {_attempts} failed: {error} Retrying in {delay.ToString("c", CultureInfo.InvariantCulture)}.",
                    attempt,
                    final: false);
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The wait before an attempt: the retry delay, doubled for each further attempt, at most 10 minutes.</summary>
    private TimeSpan DelayBefore(int attempt)
    {
        var factor = Math.Pow(2, Math.Min(attempt - 2, 20));
        var ticks = Math.Min(_retryDelay.Ticks * factor, MaxRetryDelay.Ticks);
        return TimeSpan.FromTicks((long)ticks);
    }

    private static string Describe(Exception e) =>
        e is TrainingException ? e.Message : $"{e.GetType().Name}: {e.Message}";

    private void RecordInterrupted(RunEntry entry)
    {
        try
        {
            var changed = entry.Update(s =>
            {
                if (s.ArtifactUpload is not { IsFinal: false } upload)
                {
                    return false;
                }

                s.ArtifactUpload = upload with
                {
                    State = ArtifactUploadState.Pending,
                    Message = "Interrupted by the executor's shutdown; an executor started over the same runs directory resumes it.",
                };
                return true;
            });
            if (changed)
            {
                ArtifactUploadLog.Interrupted(_logger, entry.Handle.JobId, entry.Paths.Directory);
            }
        }
        catch (IOException)
        {
            // The run directory is gone; there is nothing left to resume.
        }
    }

    private void Record(RunEntry entry, ArtifactUploadState state, string message, int attempts, bool final)
    {
        var upload = new ArtifactUploadStatus
        {
            State = state,
            Message = message,
            Attempts = attempts,
            FinishedAt = final ? _time.GetUtcNow() : null,
        };
        entry.Update(s =>
        {
            s.ArtifactUpload = upload;
            return true;
        });

        // After the save (which throws when state.json cannot be written): whoever the event wakes reads the same state.
        if (final)
        {
            _events?.PublishArtifactUpload(entry.Handle, upload);
        }
    }
}
