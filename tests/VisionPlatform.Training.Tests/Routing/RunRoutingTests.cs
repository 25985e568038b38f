using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace VisionPlatform.Training.Tests.Routing;

public class RunRoutingTests
{
    private static RoutingHost Host() => new(new ScriptedExecutor("kubernetes"), new ScriptedExecutor("subprocess"));

    [Fact]
    public async Task Status_logs_and_stop_go_to_the_executor_in_the_handle_after_the_default_changes()
    {
        using var host = Host();
        var run = (await host.Client.StartAsync(RoutingHost.Job())).Run;

        host.Reconfigure(o => o.DefaultExecutor = "subprocess");
        var next = await host.Client.StartAsync(RoutingHost.Job("job-2"));
        var status = await host.Client.GetOperation(run).UpdateStatusAsync();
        var stopped = await host.Client.GetOperation(run).StopAsync();

        next.ExecutorName.Should().Be("subprocess");
        status.ExecutorName.Should().Be("kubernetes");
        status.Phase.Should().Be(TrainingPhase.Running);
        stopped.Phase.Should().Be(TrainingPhase.Stopped);
        host.Primary.StatusRequests.Should().Equal("job-1", "job-1");
        host.Secondary.StatusRequests.Should().BeEmpty();
    }

    [Fact]
    public async Task A_persisted_handle_is_routed_by_a_new_manager()
    {
        using var host = Host();
        var persisted = (await host.Client.StartAsync(RoutingHost.Job(), new TrainingStartOptions { Executor = "subprocess" })).Run.ToString();

        using var restarted = new RoutingHost(host.Primary, host.Secondary);
        var status = await restarted.Client.GetOperation(persisted).UpdateStatusAsync();

        status.ExecutorName.Should().Be("subprocess");
        status.Phase.Should().Be(TrainingPhase.Running);
    }

    [Fact]
    public async Task Find_by_job_id_asks_the_executors_in_order()
    {
        using var host = Host();
        await host.Client.StartAsync(RoutingHost.Job("on-sub"), new TrainingStartOptions { Executor = "subprocess" });

        using var restarted = new RoutingHost(host.Primary, host.Secondary);
        var found = await restarted.Client.FindAsync("on-sub");
        var missing = await restarted.Client.FindAsync("nowhere");

        found!.ExecutorName.Should().Be("subprocess");
        missing.Should().BeNull();
        host.Primary.FindCalls.Should().Be(2, "the default executor is asked first");
    }

    [Fact]
    public async Task Find_does_not_report_a_run_missing_when_an_executor_could_not_be_asked()
    {
        using var host = Host();
        host.Primary.FindFailure = () => ScriptedExecutor.ConnectionRefusedError();
        await host.Client.StartAsync(RoutingHost.Job("on-sub"), new TrainingStartOptions { Executor = "subprocess" });

        (await host.Client.FindAsync("on-sub"))!.ExecutorName.Should().Be("subprocess");
        var act = () => host.Client.FindAsync("nowhere");

        var e = (await act.Should().ThrowAsync<TrainingException>()).Which;
        e.Code.Should().Be(TrainingErrorCode.ExecutorUnavailable);
        e.Message.Should().Contain("'kubernetes'").And.Contain("Connection refused");
    }

    [Fact]
    public void Options_bind_from_configuration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Training:DefaultExecutor"] = "kubernetes",
            ["Training:Fallback:Enabled"] = "true",
            ["Training:Fallback:Executors:0"] = "subprocess",
            ["Training:Fallback:VerifyTimeout"] = "00:00:20",
            ["Training:Availability:RefreshInterval"] = "00:00:05",
            ["Training:Availability:ProbeTimeout"] = "00:00:02",
            ["Training:Availability:CircuitBreaker:FailureRatio"] = "0.25",
            ["Training:Availability:CircuitBreaker:BreakDuration"] = "00:01:00",
        }).Build();
        var services = new ServiceCollection();
        services.AddTrainingExecutors(configuration.GetSection("Training")).AddSubprocess(NoTrainerFiles).AddExecutor("kubernetes", _ => new ScriptedExecutor("kubernetes"));
        using var provider = services.BuildServiceProvider();

        var o = provider.GetRequiredService<IOptions<TrainingOptions>>().Value;

        o.Fallback.Executors.Should().Equal("subprocess");
        o.Fallback.VerifyTimeout.Should().Be(TimeSpan.FromSeconds(20));
        o.Availability.RefreshInterval.Should().Be(TimeSpan.FromSeconds(5));
        o.Availability.ProbeTimeout.Should().Be(TimeSpan.FromSeconds(2));
        o.Availability.CircuitBreaker.FailureRatio.Should().Be(0.25);
        o.Availability.CircuitBreaker.BreakDuration.Should().Be(TimeSpan.FromMinutes(1));
    }

    [Fact]
    public void Invalid_routing_options_fail_at_start_up_naming_the_key_and_the_rule()
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o =>
        {
            o.DefaultExecutor = TrainingExecutorNames.Subprocess;
            o.Fallback.Executors.Add("subprocess");
            o.Fallback.Executors.Add("SUBPROCESS");
            o.Fallback.Executors.Add(" ");
            o.Availability.ProbeTimeout = TimeSpan.Zero;
            o.Availability.CircuitBreaker.FailureRatio = 1.5;
            o.Availability.CircuitBreaker.MinimumThroughput = 1;
            o.Availability.CircuitBreaker.BreakDuration = TimeSpan.FromMilliseconds(10);
        }).AddSubprocess(NoTrainerFiles);
        using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IOptions<TrainingOptions>>().Value;

        act.Should().Throw<OptionsValidationException>().Which.Failures.Should().BeEquivalentTo(
            "Training:Fallback:Executors:2 is empty: name a registered executor (for example 'subprocess').",
            "Training:Fallback:Executors lists an executor twice: each executor is tried at most once.",
            "Training:Availability:ProbeTimeout is 00:00:00: it must be between 00:00:00.0500000 and 00:05:00.",
            "Training:Availability:CircuitBreaker:FailureRatio is 1.5: it must be greater than 0 and at most 1.",
            "Training:Availability:CircuitBreaker:MinimumThroughput is 1: it must be at least 2.",
            "Training:Availability:CircuitBreaker:BreakDuration is 00:00:00.0100000: it must be between 00:00:00.5000000 and 1.00:00:00.");
    }
}
