using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace VisionPlatform.Training.Routing;

/// <summary>
/// Keeps the availability cache warm in hosted applications: probes every registered executor each
/// <c>Training:Availability:RefreshInterval</c>, so a start rarely waits for a probe and a recovered cluster is
/// noticed without a start having to try it. Off when <c>Training:Availability:BackgroundRefresh</c> is false.
/// </summary>
internal sealed class ExecutorAvailabilityRefresher(
    ExecutorHealth health,
    IOptionsMonitor<TrainingOptions> options,
    TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested && options.CurrentValue.Availability.BackgroundRefresh)
        {
            await health.RefreshAsync(stoppingToken).ConfigureAwait(false);
            try
            {
                await Task.Delay(options.CurrentValue.Availability.RefreshInterval, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }
}
