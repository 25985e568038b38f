using System.Globalization;

namespace VisionPlatform.Training;

/// <summary>
/// Waits for one run to become terminal: event-driven through the hub (the executors' monitors publish every phase
/// change as it happens), with a slow status re-read as a safety net for a run no monitor reports. Timeouts and the
/// re-read interval run on the injected <see cref="TimeProvider"/>.
/// </summary>
/// <param name="hub">The events.</param>
/// <param name="readStatus">Reads a run's status from its executor (routing); <see langword="null"/> to rely on events alone.</param>
/// <param name="time">The clock for the timeout and the re-reads.</param>
internal sealed class RunCompletion(TrainingEventHub hub, Func<TrainingRun, CancellationToken, Task<TrainingRunStatus>>? readStatus, TimeProvider time)
{
    /// <summary>How often the status is re-read in case no monitor reports the run.</summary>
    public TimeSpan ReconcileInterval { get; init; } = TimeSpan.FromSeconds(15);

    public async Task<TrainingRunStatus> WaitAsync(TrainingRun run, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (timeout != Timeout.InfiniteTimeSpan && timeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be positive or Timeout.InfiniteTimeSpan.");
        }

        // The timeout runs on the injected clock (CancelAfter would use the system clock), so a fake clock drives it.
        using var timer = timeout == Timeout.InfiniteTimeSpan ? null : new CancellationTokenSource(timeout, time);
        using var deadline = timer is null
            ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken)
            : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);

        var subscription = new TrainingEventSubscription { JobId = run.JobId, IncludeProgress = false };
        using var reconcile = new CancellationTokenSource();
        var reconciler = readStatus is null ? Task.CompletedTask : ReconcileUntilDoneAsync(run, readStatus, reconcile.Token);
        try
        {
            await foreach (var item in hub.SubscribeAsync(subscription, readStatus is null ? null : (_, ct) => LoadAsync(run, readStatus, ct), deadline.Token).ConfigureAwait(false))
            {
                if (item is TrainingPhaseChangedEvent { Status.IsTerminal: true } done && done.Run.Equals(run))
                {
                    return done.Status;
                }

                if (item is TrainingEventsDroppedEvent && hub.TryGetStatus(run.JobId, out var latest) && latest.IsTerminal && latest.Run.Equals(run))
                {
                    return latest;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(string.Create(
                CultureInfo.InvariantCulture,
                $"Run '{run.JobId}' on '{run.ExecutorName}' was not finished after {timeout}; its last known phase is {(hub.TryGetStatus(run.JobId, out var last) ? last.Phase : "unknown")}."));
        }
        finally
        {
            await reconcile.CancelAsync().ConfigureAwait(false);
            await reconciler.ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
        throw new OperationCanceledException(cancellationToken);
    }

    private async Task LoadAsync(TrainingRun run, Func<TrainingRun, CancellationToken, Task<TrainingRunStatus>> read, CancellationToken cancellationToken)
    {
        var status = await read(run, cancellationToken).ConfigureAwait(false);
        if (status.Phase != TrainingPhase.NotFound)
        {
            hub.PublishStatus(status);
        }
    }

    private async Task ReconcileUntilDoneAsync(TrainingRun run, Func<TrainingRun, CancellationToken, Task<TrainingRunStatus>> read, CancellationToken cancellationToken)
    {
        // A safety net, not the mechanism: monitors publish changes as they happen. Without a monitor for the run's
        // executor this keeps the wait from waiting forever.
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(ReconcileInterval, time, cancellationToken).ConfigureAwait(false);
                var status = await read(run, cancellationToken).ConfigureAwait(false);
                if (status.Phase != TrainingPhase.NotFound || !hub.TryGetStatus(run.JobId, out _))
                {
                    hub.PublishStatus(status);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // Status reads fail while an executor is unavailable; the wait keeps listening for the monitor.
        }
    }
}
