using VisionPlatform.Training.Routing;

namespace VisionPlatform.Training;

/// <summary>
/// The <see cref="ITrainingEventSource"/> hosts inject: the hub's fan-out, plus a status read through routing for a
/// single-job subscription whose run the hub has not seen yet (for example a run started by an earlier host process).
/// Routing and the hub are passed in; neither knows this type, so there is no cycle.
/// </summary>
internal sealed class TrainingEventSource(TrainingEventHub hub, RunRouter runs) : ITrainingEventSource
{
    /// <inheritdoc />
    public IAsyncEnumerable<TrainingJobEvent> SubscribeAsync(TrainingEventSubscription? subscription = null, CancellationToken cancellationToken = default) =>
        hub.SubscribeAsync(subscription, LoadAsync, cancellationToken);

    private async Task LoadAsync(string jobId, CancellationToken cancellationToken)
    {
        var run = await runs.FindAsync(jobId, cancellationToken).ConfigureAwait(false);
        if (run is null)
        {
            return;
        }

        var status = await runs.GetStatusAsync(run, cancellationToken).ConfigureAwait(false);
        if (status.Phase != TrainingPhase.NotFound)
        {
            hub.PublishStatus(status);
        }
    }
}
