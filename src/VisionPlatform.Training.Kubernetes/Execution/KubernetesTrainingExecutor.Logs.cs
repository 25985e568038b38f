namespace VisionPlatform.Training.Kubernetes;

/// <summary>Logs: the current attempt's pod (or every attempt's), read or followed by <see cref="KubernetesLogReader"/>.</summary>
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

        var reader = new KubernetesLogReader(_connection, ns, name, run.JobId, options, Options.PollInterval, _time, _logger);
        return options.Follow ? reader.FollowAsync(cancellationToken) : reader.ReadAsync(cancellationToken);
    }
}
