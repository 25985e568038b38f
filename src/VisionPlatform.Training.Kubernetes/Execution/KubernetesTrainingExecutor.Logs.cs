namespace VisionPlatform.Training.Kubernetes;

/// <summary>
/// Logs: the current attempt's pod (or every attempt's), read or followed by <see cref="KubernetesLogReader"/>; for a
/// distributed job, the pods of one node rank (<see cref="TrainingLogOptions.NodeRank"/>, node 0 by default).
/// </summary>
public sealed partial class KubernetesTrainingExecutor
{
    /// <inheritdoc />
    public IAsyncEnumerable<TrainingLogLine> GetLogsAsync(TrainingRun run, TrainingLogOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (ns, name) = Locate(run);
        options ??= TrainingLogOptions.Default;
        if (options.TailLines is < 0)
        {
            throw new TrainingValidationException([new TrainingValidationError(nameof(TrainingLogOptions.TailLines), options.TailLines.ToString(), "must be 0 or more")]);
        }

        if (options.NodeRank is < 0)
        {
            // The upper bound needs the Job (its node count): the reader checks it before opening any log.
            throw new TrainingValidationException([new TrainingValidationError(nameof(TrainingLogOptions.NodeRank), options.NodeRank.ToString(), "must be 0 or more (a node rank, 0 to nodes - 1)")]);
        }

        var reader = new KubernetesLogReader(_connection, ns, name, run.JobId, options, Options.PollInterval, _time, _logger, LogArchive);
        return options.Follow ? reader.FollowAsync(cancellationToken) : reader.ReadAsync(cancellationToken);
    }
}
