using Microsoft.Extensions.Diagnostics.HealthChecks;
using VisionPlatform.Training.Diagnostics;

namespace VisionPlatform.Training.Tests.Routing;

public class StartFallbackTests
{
    private static RoutingHost Host(Action<TrainingOptions>? configure = null, int secondaryGpus = 0) =>
        new(new ScriptedExecutor("kubernetes"), new GpuHostExecutor("subprocess", secondaryGpus), configure);

    [Fact]
    public async Task Start_runs_on_the_default_executor_when_it_is_available()
    {
        using var host = Host();

        var result = await host.Client.StartAsync(RoutingHost.Job());

        result.RequestedExecutor.Should().Be("kubernetes");
        result.ExecutorName.Should().Be("kubernetes");
        result.IsFallback.Should().BeFalse();
        result.FallbackReason.Should().BeNull();
        host.Secondary.StartCalls.Should().Be(0);
        host.Fallbacks.GetMeasurementSnapshot().Should().BeEmpty();
    }

    [Fact]
    public async Task A_start_without_options_uses_the_defaults_and_returns_the_operation()
    {
        using var host = Host();

        var operation = await host.Client.StartAsync(RoutingHost.Job());

        operation.ExecutorName.Should().Be("kubernetes");
        operation.RequestedExecutor.Should().Be("kubernetes");
        operation.IsFallback.Should().BeFalse();
        operation.FallbackReason.Should().BeNull();
    }

    [Fact]
    public async Task A_request_can_name_another_executor()
    {
        using var host = Host();

        var result = await host.Client.StartAsync(RoutingHost.Job(), new TrainingStartOptions { Executor = "SUBPROCESS" });

        result.RequestedExecutor.Should().Be("subprocess");
        result.ExecutorName.Should().Be("subprocess");
        result.IsFallback.Should().BeFalse();
        host.Primary.StartCalls.Should().Be(0);
    }

    [Fact]
    public async Task An_unknown_executor_is_a_clear_error()
    {
        using var host = Host();

        var act = () => host.Client.StartAsync(RoutingHost.Job(), new TrainingStartOptions { Executor = "slurm" });

        var e = (await act.Should().ThrowAsync<TrainingException>()).Which;
        e.Code.Should().Be(TrainingErrorCode.UnknownExecutor);
        e.Message.Should().Contain("'slurm'").And.Contain("kubernetes, subprocess");
    }

    [Fact]
    public async Task Unavailable_probe_falls_back_and_says_why_in_the_result_the_log_and_the_metric()
    {
        using var host = Host();
        host.Primary.Availability = ExecutorAvailability.Unavailable("GET /version: connection refused", DateTimeOffset.UnixEpoch);

        var result = await host.Client.StartAsync(RoutingHost.Job());

        result.IsFallback.Should().BeTrue();
        result.RequestedExecutor.Should().Be("kubernetes");
        result.ExecutorName.Should().Be("subprocess");
        result.Run.ExecutorName.Should().Be("subprocess");
        result.FallbackReason.Should().Contain("'kubernetes' is unavailable").And.Contain("connection refused");
        host.Primary.StartCalls.Should().Be(0, "an executor known to be unavailable is not called");
        var m = host.Fallbacks.GetMeasurementSnapshot().Should().ContainSingle().Subject;
        m.Value.Should().Be(1);
        m.Tags[TrainingTelemetry.RequestedExecutorTag].Should().Be("kubernetes");
        m.Tags[TrainingTelemetry.ExecutorTag].Should().Be("subprocess");
        m.Tags[TrainingTelemetry.ReasonTag].Should().Be("unavailable");
    }

    [Fact]
    public async Task A_probe_that_throws_counts_as_unavailable()
    {
        using var host = Host();
        host.Primary.ProbeFailure = new InvalidOperationException("no kubeconfig");

        var result = await host.Client.StartAsync(RoutingHost.Job());

        result.IsFallback.Should().BeTrue();
        result.FallbackReason.Should().Contain("no kubeconfig");
    }

    [Fact]
    public async Task Connection_refused_on_start_falls_back_and_later_starts_skip_the_executor_until_the_next_probe()
    {
        using var host = Host(o => o.Availability.RefreshInterval = TimeSpan.FromSeconds(10));
        host.Primary.StartFailure = _ => ScriptedExecutor.ConnectionRefusedError();

        var first = await host.Client.StartAsync(RoutingHost.Job("a"));
        var second = await host.Client.StartAsync(RoutingHost.Job("b"));

        first.IsFallback.Should().BeTrue();
        first.FallbackReason.Should().Contain("Connection refused");
        second.IsFallback.Should().BeTrue();
        host.Primary.StartCalls.Should().Be(1, "the failed call marked the executor unavailable until the next probe");
        host.Fallbacks.GetMeasurementSnapshot().Select(m => m.Tags[TrainingTelemetry.ReasonTag])
            .Should().Equal("unavailable", "unavailable");

        // The cluster recovers: once the cached answer expires, new jobs go to it again.
        host.Primary.StartFailure = _ => null;
        host.Time.Advance(TimeSpan.FromSeconds(11));
        var third = await host.Client.StartAsync(RoutingHost.Job("c"));

        third.IsFallback.Should().BeFalse();
        third.ExecutorName.Should().Be("kubernetes");
    }

    [Theory]
    [InlineData("Forbidden")]
    [InlineData("Rejected")]
    [InlineData("Unschedulable")]
    [InlineData("JobConflict")]
    public async Task Request_errors_surface_and_never_fall_back(string code)
    {
        using var host = Host();
        var error = new TrainingException(new TrainingErrorCode(code), $"the apiserver said {code}");
        host.Primary.StartFailure = _ => error;

        var act = () => host.Client.StartAsync(RoutingHost.Job());

        (await act.Should().ThrowAsync<TrainingException>()).Which.Should().BeSameAs(error);
        host.Secondary.StartCalls.Should().Be(0);
        host.Fallbacks.GetMeasurementSnapshot().Should().BeEmpty();
    }

    [Fact]
    public async Task Request_errors_do_not_open_the_circuit()
    {
        using var host = Host(o => o.Availability.CircuitBreaker.MinimumThroughput = 2);
        host.Primary.StartFailure = _ => new TrainingException(TrainingErrorCode.Forbidden, "rbac");

        for (var i = 0; i < 6; i++)
        {
            await FluentActions.Awaiting(() => host.Client.StartAsync(RoutingHost.Job($"j{i}")))
                .Should().ThrowAsync<TrainingException>();
        }

        (await host.Client.GetAvailabilityAsync("kubernetes")).IsAvailable.Should().BeTrue();
        host.Primary.StartCalls.Should().Be(6);
    }

    [Fact]
    public async Task Repeated_infrastructure_failures_open_the_circuit_and_it_closes_after_recovery()
    {
        using var host = Host(o =>
        {
            o.Availability.CircuitBreaker.MinimumThroughput = 3;
            o.Availability.CircuitBreaker.BreakDuration = TimeSpan.FromSeconds(30);
        });
        var failing = true;
        host.Primary.StartFailure = _ => failing ? new TrainingException(TrainingErrorCode.ExecutorFailure, "500 Internal Server Error") : null;

        for (var i = 0; i < 3; i++)
        {
            (await host.Client.StartAsync(RoutingHost.Job($"j{i}"))).IsFallback.Should().BeTrue();
        }

        host.Primary.FindCalls.Should().Be(3, "each ambiguous failure is checked before falling back");
        var open = await host.Client.StartAsync(RoutingHost.Job("open"));
        open.IsFallback.Should().BeTrue();
        open.FallbackReason.Should().Contain("circuit breaker is open");
        host.Primary.StartCalls.Should().Be(3, "an open circuit is not called");
        (await host.Client.GetAvailabilityAsync("kubernetes")).IsAvailable.Should().BeFalse();
        host.Fallbacks.GetMeasurementSnapshot()[^1].Tags[TrainingTelemetry.ReasonTag].Should().Be("circuit_open");

        failing = false;
        host.Time.Advance(TimeSpan.FromSeconds(31));
        var recovered = await host.Client.StartAsync(RoutingHost.Job("recovered"));

        recovered.IsFallback.Should().BeFalse();
        recovered.ExecutorName.Should().Be("kubernetes");
        (await host.Client.GetAvailabilityAsync("kubernetes")).IsAvailable.Should().BeTrue();
    }

    [Fact]
    public async Task An_ambiguous_failure_whose_create_reached_the_executor_returns_that_run_instead_of_falling_back()
    {
        using var host = Host();
        var failed = 0;
        host.Primary.FailAfterCreate = _ => Interlocked.Exchange(ref failed, 1) == 0 ? ScriptedExecutor.AnsweredFailure("the server failed after it may have stored the Job (504 Gateway Timeout)") : null;

        var result = await host.Client.StartAsync(RoutingHost.Job());

        result.IsFallback.Should().BeFalse();
        result.ExecutorName.Should().Be("kubernetes");
        host.Secondary.JobIds.Should().BeEmpty();
        host.Primary.JobIds.Should().Equal("job-1");
    }

    [Fact]
    public async Task An_ambiguous_failure_that_cannot_be_settled_does_not_fall_back_and_binds_the_job_to_that_executor()
    {
        using var host = Host(o => o.Availability.RefreshInterval = TimeSpan.FromSeconds(5));
        host.Primary.StartFailure = _ => ScriptedExecutor.AnsweredFailure("500 Internal Server Error after the write");
        host.Primary.FindFailure = () => ScriptedExecutor.ConnectionRefusedError();

        var act = () => host.Client.StartAsync(RoutingHost.Job());

        var e = (await act.Should().ThrowAsync<TrainingException>()).Which;
        e.Code.Should().Be(TrainingErrorCode.ExecutorUnavailable);
        e.Message.Should().Contain("may have reached it").And.Contain("not moved to another executor");
        host.Secondary.StartCalls.Should().Be(0);

        // Later the executor is plainly unreachable: the maybe-started job still does not move.
        host.Primary.Availability = ExecutorAvailability.Unavailable("down", DateTimeOffset.UnixEpoch);
        host.Time.Advance(TimeSpan.FromSeconds(6));
        var again = (await act.Should().ThrowAsync<TrainingException>()).Which;
        again.Message.Should().Contain("may already have a run").And.Contain("not moved");
        host.Secondary.StartCalls.Should().Be(0);

        // Once the executor answers, the repeated start lands there, never on the fallback.
        host.Primary.StartFailure = _ => null;
        var result = await host.Client.StartAsync(RoutingHost.Job());
        result.IsFallback.Should().BeFalse();
        result.ExecutorName.Should().Be("kubernetes");
        host.Secondary.JobIds.Should().BeEmpty();
    }

    [Fact]
    public async Task Another_job_still_falls_back_while_one_job_is_bound_to_the_unreachable_executor()
    {
        using var host = Host();
        host.Primary.StartFailure = _ => ScriptedExecutor.AnsweredFailure("500 Internal Server Error after the write");
        host.Primary.FindFailure = () => ScriptedExecutor.ConnectionRefusedError();
        await FluentActions.Awaiting(() => host.Client.StartAsync(RoutingHost.Job("bound"))).Should().ThrowAsync<TrainingException>();
        host.Primary.FindFailure = () => null;

        var other = await host.Client.StartAsync(RoutingHost.Job("other"));

        other.IsFallback.Should().BeTrue();
        host.Secondary.JobIds.Should().Equal("other");
    }

    [Fact]
    public async Task A_GPU_job_that_does_not_fit_the_fallback_fails_naming_both_executors()
    {
        using var host = Host(secondaryGpus: 0);
        host.Primary.Availability = ExecutorAvailability.Unavailable("connection refused", DateTimeOffset.UnixEpoch);

        var act = () => host.Client.StartAsync(RoutingHost.Job(gpus: 1));

        var e = (await act.Should().ThrowAsync<TrainingException>()).Which;
        e.Code.Should().Be(TrainingErrorCode.Unschedulable);
        e.Message.Should().Contain("'kubernetes' is unavailable (connection refused)")
            .And.Contain("does not fit fallback 'subprocess'")
            .And.Contain("1 GPU(s) but this host has 0");
        host.Secondary.StartCalls.Should().Be(0, "a GPU job never becomes a CPU run");
        host.StartFailures.GetMeasurementSnapshot().Should().ContainSingle()
            .Which.Tags[TrainingTelemetry.ReasonTag].Should().Be("does_not_fit");
    }

    [Fact]
    public async Task A_fallback_that_refuses_the_job_as_unschedulable_is_reported_like_a_misfit()
    {
        using var host = new RoutingHost(new ScriptedExecutor("kubernetes"), new ScriptedExecutor("subprocess"));
        host.Primary.Availability = ExecutorAvailability.Unavailable("down", DateTimeOffset.UnixEpoch);
        host.Secondary.StartFailure = _ => new TrainingException(TrainingErrorCode.Unschedulable, "needs 2 GPUs, host has 0");

        var act = () => host.Client.StartAsync(RoutingHost.Job(gpus: 2));

        var e = (await act.Should().ThrowAsync<TrainingException>()).Which;
        e.Code.Should().Be(TrainingErrorCode.Unschedulable);
        e.Message.Should().Contain("'kubernetes' is unavailable (down)").And.Contain("needs 2 GPUs");
    }

    [Fact]
    public async Task A_GPU_job_that_fits_the_fallback_host_falls_back()
    {
        using var host = Host(secondaryGpus: 2);
        host.Primary.Availability = ExecutorAvailability.Unavailable("down", DateTimeOffset.UnixEpoch);

        var result = await host.Client.StartAsync(RoutingHost.Job(gpus: 2));

        result.IsFallback.Should().BeTrue();
    }

    [Fact]
    public async Task No_fallback_per_request_fails_with_the_reason()
    {
        using var host = Host();
        host.Primary.Availability = ExecutorAvailability.Unavailable("connection refused", DateTimeOffset.UnixEpoch);

        var act = () => host.Client.StartAsync(RoutingHost.Job(), new TrainingStartOptions { NoFallback = true });

        var e = (await act.Should().ThrowAsync<TrainingException>()).Which;
        e.Code.Should().Be(TrainingErrorCode.ExecutorUnavailable);
        e.Message.Should().Be("Executor 'kubernetes' cannot start job 'job-1': connection refused. The request disabled fallback (TrainingStartOptions.NoFallback).");
        e.ExecutorName.Should().Be("kubernetes");
        e.JobId.Should().Be("job-1");
        host.Secondary.StartCalls.Should().Be(0);
    }

    [Fact]
    public async Task Fallback_disabled_in_options_fails_naming_the_key()
    {
        using var host = Host(o => o.Fallback.Enabled = false);
        host.Primary.Availability = ExecutorAvailability.Unavailable("down", DateTimeOffset.UnixEpoch);

        var act = () => host.Client.StartAsync(RoutingHost.Job());

        (await act.Should().ThrowAsync<TrainingException>()).Which.Message.Should().Contain("Training:Fallback:Enabled is false");
        host.Client.DefaultExecutorName.Should().Be("kubernetes");
    }

    [Fact]
    public async Task When_every_executor_is_unavailable_the_error_names_them_all()
    {
        using var host = Host();
        host.Primary.Availability = ExecutorAvailability.Unavailable("cluster down", DateTimeOffset.UnixEpoch);
        host.Secondary.Availability = ExecutorAvailability.Unavailable("python3 not found", DateTimeOffset.UnixEpoch);

        var act = () => host.Client.StartAsync(RoutingHost.Job());

        var e = (await act.Should().ThrowAsync<TrainingException>()).Which;
        e.Code.Should().Be(TrainingErrorCode.ExecutorUnavailable);
        e.Message.Should().Contain("cluster down").And.Contain("fallback 'subprocess' is unavailable too: python3 not found");
    }

    [Fact]
    public async Task Probes_are_cached_and_shared()
    {
        using var host = Host(o => o.Availability.RefreshInterval = TimeSpan.FromSeconds(10));

        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => host.Client.StartAsync(RoutingHost.Job($"j{i}"))));

        host.Primary.ProbeCalls.Should().Be(1);
        host.Time.Advance(TimeSpan.FromSeconds(11));
        await host.Client.StartAsync(RoutingHost.Job("later"));
        host.Primary.ProbeCalls.Should().Be(2);
    }

    [Fact]
    public async Task A_job_started_on_one_executor_is_never_started_on_another()
    {
        using var host = Host();
        var first = await host.Client.StartAsync(RoutingHost.Job());
        host.Primary.Availability = ExecutorAvailability.Unavailable("down", DateTimeOffset.UnixEpoch);
        host.Primary.StartFailure = _ => ScriptedExecutor.ConnectionRefusedError();
        host.Time.Advance(TimeSpan.FromMinutes(1));

        var act = () => host.Client.StartAsync(RoutingHost.Job());

        var e = (await act.Should().ThrowAsync<TrainingException>()).Which;
        e.Code.Should().Be(TrainingErrorCode.ExecutorUnavailable);
        e.Message.Should().Contain("already has a run on 'kubernetes'");
        first.ExecutorName.Should().Be("kubernetes");
        host.Secondary.StartCalls.Should().Be(0);
    }

    [Fact]
    public async Task A_job_that_already_runs_on_the_fallback_is_routed_there_when_the_default_is_back()
    {
        using var host = Host();
        host.Primary.Availability = ExecutorAvailability.Unavailable("down", DateTimeOffset.UnixEpoch);
        (await host.Client.StartAsync(RoutingHost.Job())).IsFallback.Should().BeTrue();
        host.Primary.Availability = null;
        host.Time.Advance(TimeSpan.FromMinutes(1));

        // A fresh manager (a host restart) finds the run on the fallback executor and does not start it again.
        using var restarted = new RoutingHost(host.Primary, host.Secondary);
        var again = await restarted.Client.StartAsync(RoutingHost.Job());

        again.ExecutorName.Should().Be("subprocess");
        again.IsFallback.Should().BeFalse();
        again.FallbackReason.Should().Contain("already has a run on 'subprocess'");
        host.Primary.JobIds.Should().BeEmpty();
    }

    [Fact]
    public async Task Concurrent_starts_of_one_job_while_the_default_flaps_land_on_one_executor()
    {
        using var host = Host();
        var calls = 0;
        host.Primary.StartFailure = _ => Interlocked.Increment(ref calls) % 2 == 0 ? ScriptedExecutor.ConnectionRefusedError() : null;

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 30).Select(async _ =>
        {
            try
            {
                return (Run: (await host.Client.StartAsync(RoutingHost.Job())).Run, Error: (TrainingException?)null);
            }
            catch (TrainingException e)
            {
                return (Run: (TrainingRun?)null, Error: e);
            }
        }));

        // Every start either returns the one run or refuses to move it while its executor is unreachable.
        outcomes.Where(o => o.Run is not null).Select(o => o.Run).Distinct().Should().ContainSingle();
        outcomes.Where(o => o.Error is not null).Should().OnlyContain(o => o.Error!.Code == TrainingErrorCode.ExecutorUnavailable && o.Error.Message.Contains("already has a run", StringComparison.Ordinal));
        (host.Primary.JobIds.Count + host.Secondary.JobIds.Count).Should().Be(1);
    }

    [Fact]
    public async Task Health_is_healthy_degraded_or_unhealthy_with_each_executor_in_the_data()
    {
        using var host = Host(o => o.Availability.RefreshInterval = TimeSpan.FromSeconds(1));

        var healthy = await host.CheckHealthAsync();
        healthy.Status.Should().Be(HealthStatus.Healthy);
        var entry = healthy.Entries[TrainingExecutorsHealthCheck.DefaultName];
        entry.Data["kubernetes"].Should().Be("available");
        entry.Data["subprocess"].Should().Be("available");

        host.Primary.Availability = ExecutorAvailability.Unavailable("connection refused", DateTimeOffset.UnixEpoch);
        host.Time.Advance(TimeSpan.FromSeconds(2));
        var degraded = await host.CheckHealthAsync();
        degraded.Status.Should().Be(HealthStatus.Degraded);
        degraded.Entries[TrainingExecutorsHealthCheck.DefaultName].Description.Should().Contain("fall back to 'subprocess'");
        degraded.Entries[TrainingExecutorsHealthCheck.DefaultName].Data["kubernetes"].Should().Be("unavailable: connection refused");

        host.Secondary.Availability = ExecutorAvailability.Unavailable("no interpreter", DateTimeOffset.UnixEpoch);
        host.Time.Advance(TimeSpan.FromSeconds(2));
        (await host.CheckHealthAsync()).Status.Should().Be(HealthStatus.Unhealthy);
    }

    [Fact]
    public async Task ExecutorUnavailable_falls_back_decided_from_the_code_alone()
    {
        using var host = Host();
        host.Primary.StartFailure = _ => new TrainingException(TrainingErrorCode.ExecutorUnavailable, "the backend is down");

        var operation = await host.Client.StartAsync(RoutingHost.Job());

        operation.IsFallback.Should().BeTrue();
        operation.ExecutorName.Should().Be("subprocess");
        operation.RequestedExecutor.Should().Be("kubernetes");
        operation.FallbackReason.Should().Contain("the backend is down");
        host.Primary.FindCalls.Should().Be(0, "an executor that could not be reached applied nothing: no lookup is needed");
    }

    [Fact]
    public async Task OutcomeUnknown_never_falls_back_and_a_repeated_start_on_the_same_executor_settles_it()
    {
        using var host = Host();
        var failures = 0;
        host.Primary.FailAfterCreate = _ => Interlocked.Increment(ref failures) == 1 ? ScriptedExecutor.OutcomeUnknownError() : null;

        var operation = await host.Client.StartAsync(RoutingHost.Job());

        operation.IsFallback.Should().BeFalse();
        operation.ExecutorName.Should().Be("kubernetes");
        host.Primary.StartCalls.Should().Be(2, "the unanswered start is repeated, which is idempotent per job id");
        host.Secondary.StartCalls.Should().Be(0);
    }

    [Fact]
    public async Task OutcomeUnknown_that_cannot_be_settled_fails_and_binds_the_job_even_when_a_lookup_finds_nothing()
    {
        using var host = Host();
        host.Primary.StartFailure = _ => ScriptedExecutor.OutcomeUnknownError();

        var act = () => host.Client.StartAsync(RoutingHost.Job());

        var e = (await act.Should().ThrowAsync<TrainingException>()).Which;
        e.Code.Should().Be(TrainingErrorCode.ExecutorUnavailable);
        e.Message.Should().Contain("never answered").And.Contain("not moved to another executor");
        host.Primary.FindCalls.Should().Be(0, "\"not found\" proves nothing while the write may still be applied");
        host.Secondary.StartCalls.Should().Be(0);

        host.Primary.StartFailure = _ => ScriptedExecutor.ConnectionRefusedError();
        (await act.Should().ThrowAsync<TrainingException>()).Which.Message.Should().Contain("may already have a run");
        host.Secondary.StartCalls.Should().Be(0, "the job stays bound to the executor that may have it");
    }

    [Fact]
    public async Task An_exception_without_an_infrastructure_code_surfaces_and_never_moves_the_job()
    {
        using var host = Host();
        host.Primary.StartFailure = _ => new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused");

        var act = () => host.Client.StartAsync(RoutingHost.Job());

        await act.Should().ThrowAsync<HttpRequestException>("routing decides from TrainingException.Code only, never by digging into exceptions");
        host.Secondary.StartCalls.Should().Be(0);
    }
}
