using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace VisionPlatform.Training.Tests.Routing;

/// <summary>Issue 17: health names the executors that can start runs, also outside the default chain.</summary>
public sealed class HealthCheckTests
{
    private static RoutingHost Host(Action<TrainingOptions>? configure = null) =>
        new(new ScriptedExecutor("kubernetes"), new ScriptedExecutor("subprocess"), configure);

    [Fact]
    public async Task With_fallback_off_and_the_default_down_health_is_degraded_and_names_the_executor_that_can_start_runs()
    {
        using var host = Host(o => o.Fallback.Enabled = false);
        host.Primary.Availability = ExecutorAvailability.Unavailable("No Kubernetes configuration was found.", DateTimeOffset.UnixEpoch);

        var entry = (await host.CheckHealthAsync()).Entries[TrainingExecutorsHealthCheck.DefaultName];

        entry.Status.Should().Be(HealthStatus.Degraded);
        entry.Description.Should().NotContain("No training executor can start runs")
            .And.Contain("Default training executor 'kubernetes' is unavailable (unavailable: No Kubernetes configuration was found.)")
            .And.Contain("fallback is off (Training:Fallback:Enabled)")
            .And.EndWith("Executors that can start runs: 'subprocess'.");
        entry.Data.Should().ContainKey("subprocess").WhoseValue.Should().Be("available");
        entry.Data.Keys.Should().Equal(["kubernetes", "subprocess"], "the default chain first, then the other registered executors");
    }

    [Fact]
    public async Task Healthy_and_fallback_descriptions_name_every_executor_that_can_start_runs()
    {
        using var host = Host(o => o.Availability.RefreshInterval = TimeSpan.FromSeconds(1));

        var healthy = (await host.CheckHealthAsync()).Entries[TrainingExecutorsHealthCheck.DefaultName];
        healthy.Status.Should().Be(HealthStatus.Healthy);
        healthy.Description.Should().Be("Default training executor 'kubernetes' is available. Executors that can start runs: 'kubernetes', 'subprocess'.");

        host.Primary.Availability = ExecutorAvailability.Unavailable("connection refused", DateTimeOffset.UnixEpoch);
        host.Time.Advance(TimeSpan.FromSeconds(2));
        var degraded = (await host.CheckHealthAsync()).Entries[TrainingExecutorsHealthCheck.DefaultName];
        degraded.Status.Should().Be(HealthStatus.Degraded);
        degraded.Description.Should().Be(
            "Default training executor 'kubernetes' is unavailable (unavailable: connection refused); new runs fall back to 'subprocess'. Executors that can start runs: 'subprocess'.");
    }

    [Fact]
    public async Task With_nothing_available_health_fails_naming_each_reason_once_with_one_final_period()
    {
        using var host = Host(o => o.Fallback.Enabled = false);
        host.Primary.Availability = ExecutorAvailability.Unavailable("No Kubernetes configuration was found.", DateTimeOffset.UnixEpoch);
        host.Secondary.Availability = ExecutorAvailability.Unavailable("The interpreter python3 was not found.", DateTimeOffset.UnixEpoch);

        var entry = (await host.CheckHealthAsync()).Entries[TrainingExecutorsHealthCheck.DefaultName];

        entry.Status.Should().Be(HealthStatus.Unhealthy);
        entry.Description.Should().Be(
            "No training executor can start runs: 'kubernetes' unavailable: No Kubernetes configuration was found; 'subprocess' unavailable: The interpreter python3 was not found.");
    }
}
