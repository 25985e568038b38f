using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace VisionPlatform.Training.Tests.Routing;

public class ExecutorAvailabilityRefresherTests
{
    [Fact]
    public async Task The_hosted_refresher_probes_every_executor_each_interval_so_recovery_is_seen_without_a_start()
    {
        var interval = TimeSpan.FromSeconds(10);
        using var host = new RoutingHost(new ScriptedExecutor("kubernetes"), new ScriptedExecutor("subprocess"), o =>
        {
            o.Availability.BackgroundRefresh = true;
            o.Availability.RefreshInterval = interval;
        });
        host.Primary.Availability = ExecutorAvailability.Unavailable("down", DateTimeOffset.UnixEpoch);
        var refresher = host.Services.GetServices<IHostedService>().Single(s => s.GetType().Name == "ExecutorAvailabilityRefresher");

        await refresher.StartAsync(CancellationToken.None);
        try
        {
            // A round is over when the refresher waits for the next interval: its probes' answers are cached by then,
            // and only a wait that exists is ended by moving the fake clock on.
            await WaitUntilAsync(() => host.Time.TimersCreated(interval) >= 1);
            host.Primary.ProbeCalls.Should().BeGreaterThanOrEqualTo(1);
            host.Secondary.ProbeCalls.Should().BeGreaterThanOrEqualTo(1);
            (await host.Client.GetAvailabilityAsync("kubernetes")).IsAvailable.Should().BeFalse();

            host.Primary.Availability = null;
            var before = host.Primary.ProbeCalls;
            host.Time.Advance(interval);
            await WaitUntilAsync(() => host.Time.TimersCreated(interval) >= 2);
            host.Primary.ProbeCalls.Should().BeGreaterThan(before, "the interval passed, so the refresher probed again");

            // The cached answer is fresh (no probe on this call) and says the executor is back.
            var probes = host.Primary.ProbeCalls;
            (await host.Client.GetAvailabilityAsync("kubernetes")).IsAvailable.Should().BeTrue();
            host.Primary.ProbeCalls.Should().Be(probes);
        }
        finally
        {
            await refresher.StopAsync(CancellationToken.None);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("condition not met within 30 s");
            }

            await Task.Delay(20);
        }
    }
}
