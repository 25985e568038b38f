using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace VisionPlatform.Training.Subprocess.Monitoring;

/// <summary>
/// Recovers the built-in subprocess executor's runs when the host starts, instead of at the first call: runs that kept
/// running while no host was up are reattached (their exit is observed and published from then on), runs that ended
/// meanwhile are published as Lost, and queued runs start as slots free up — even when nobody calls the executor.
/// It does nothing when the subprocess executor was replaced (<c>.AddExecutor("subprocess", ...)</c>).
/// </summary>
internal sealed class SubprocessRunRecovery(IServiceProvider services) : IHostedService
{
    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (services.GetKeyedService<ITrainingExecutor>(TrainingExecutorNames.Subprocess) is SubprocessTrainingExecutor executor)
        {
            executor.Recover();
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
