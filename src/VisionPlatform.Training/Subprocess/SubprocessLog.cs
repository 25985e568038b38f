using Microsoft.Extensions.Logging;

namespace VisionPlatform.Training.Subprocess;

/// <summary>The subprocess executor's log messages (stable event ids 1000-1099). They never carry environment values.</summary>
internal static partial class SubprocessLog
{
    [LoggerMessage(1000, LogLevel.Debug, "Training job {JobId} is queued ({Reason}).")]
    public static partial void RunQueued(ILogger logger, string jobId, string reason);

    [LoggerMessage(1001, LogLevel.Information, "Training job {JobId} started: pid {Pid}, GPUs [{Gpus}], run directory {RunDirectory}.")]
    public static partial void RunStarted(ILogger logger, string jobId, int pid, string gpus, string runDirectory);

    [LoggerMessage(1002, LogLevel.Information, "Training job {JobId} (pid {Pid}) exited: {Phase}/{Reason}, exit code {ExitCode}.")]
    public static partial void RunExited(ILogger logger, string jobId, int pid, TrainingPhase phase, string reason, int? exitCode);

    [LoggerMessage(1003, LogLevel.Information, "Stopping training job {JobId} (pid {Pid}): SIGTERM to its process group, SIGKILL after {GracePeriod}.")]
    public static partial void RunStopping(ILogger logger, string jobId, int pid, TimeSpan gracePeriod);

    [LoggerMessage(1004, LogLevel.Information, "Training job {JobId} stopped ({Reason}).")]
    public static partial void RunStopped(ILogger logger, string jobId, string reason);

    [LoggerMessage(1005, LogLevel.Information, "Reattached to training job {JobId}: pid {Pid} is still running.")]
    public static partial void RunReattached(ILogger logger, string jobId, int pid);

    [LoggerMessage(1006, LogLevel.Warning, "Training job {JobId} is lost: its process (pid {Pid}) ended while no host observed it, so its exit code is unknown.")]
    public static partial void RunLost(ILogger logger, string jobId, int? pid);

    [LoggerMessage(1007, LogLevel.Error, "Training job {JobId} could not be launched.")]
    public static partial void LaunchFailed(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(1008, LogLevel.Warning, "Watching training runs failed; retrying.")]
    public static partial void MonitorFailed(ILogger logger, Exception exception);

    [LoggerMessage(1009, LogLevel.Information, "Training job {JobId} was killed after its grace period of {GracePeriod}.")]
    public static partial void RunKilled(ILogger logger, string jobId, TimeSpan gracePeriod);

    [LoggerMessage(1010, LogLevel.Information, "Removed the run directory of training job {JobId}: it finished at {FinishedAt}, longer ago than the retention of {Retention}; the job id is free again.")]
    public static partial void RunRemoved(ILogger logger, string jobId, DateTimeOffset? finishedAt, TimeSpan retention);

    [LoggerMessage(1011, LogLevel.Warning, "The run directory {RunDirectory} of training job {JobId} could not be removed after its retention ended; retrying at the next sweep.")]
    public static partial void RemoveFailed(ILogger logger, string jobId, string runDirectory, Exception exception);

    [LoggerMessage(1012, LogLevel.Warning, "Skipped {Path} while reading the runs directory: {Problem}.")]
    public static partial void RunSkipped(ILogger logger, string path, string problem);

    [LoggerMessage(1013, LogLevel.Warning, "Training job {JobId} is still not recorded as ended after {Attempts} SIGKILLs of its process group; the stop stops re-signalling and the end is recorded when its process is gone.")]
    public static partial void KillGivenUp(ILogger logger, string jobId, int attempts);
}
