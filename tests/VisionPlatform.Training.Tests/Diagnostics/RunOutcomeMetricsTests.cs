using VisionPlatform.Training.Diagnostics;

namespace VisionPlatform.Training.Tests.Diagnostics;

/// <summary>Run counters and histograms, driven by statuses published into the hub of a DI-built host.</summary>
public sealed class RunOutcomeMetricsTests : IDisposable
{
    private readonly TelemetryHost _host = new();

    public void Dispose() => _host.Dispose();

    [Fact]
    public async Task A_run_seen_from_start_to_success_is_counted_once_with_its_times()
    {
        var run = (await _host.Client.StartAsync(TelemetryHost.Job("job-ok", "timm"))).Run;
        var t0 = TelemetryHost.T0;

        _host.Hub.PublishStatus(TelemetryHost.Status(run, TrainingPhase.Pending, TrainingStatusReasons.WaitingForSlot));
        _host.Hub.PublishStatus(TelemetryHost.Status(run, TrainingPhase.Running, TrainingStatusReasons.Running, startedAt: t0.AddSeconds(30)));
        var done = TelemetryHost.Status(run, TrainingPhase.Succeeded, TrainingStatusReasons.Completed, t0.AddSeconds(30), t0.AddSeconds(630));
        _host.Hub.PublishStatus(done);
        _host.Hub.PublishStatus(done with { Message = "seen again after a watch reconnect" });
        _host.Hub.PublishStatus(done with { Phase = TrainingPhase.NotFound, Reason = TrainingStatusReasons.NotFound }); // removed later by its TTL

        var start = _host.Starts.GetMeasurementSnapshot().Should().ContainSingle().Subject;
        start.Tags[TrainingTelemetry.ExecutorTag].Should().Be("alpha");
        start.Tags[TrainingTelemetry.FrameworkTag].Should().Be("timm");

        var success = _host.Succeeded.GetMeasurementSnapshot().Should().ContainSingle().Subject;
        success.Value.Should().Be(1);
        success.Tags[TrainingTelemetry.ExecutorTag].Should().Be("alpha");
        success.Tags[TrainingTelemetry.FrameworkTag].Should().Be("timm");
        success.Tags[TrainingTelemetry.ReasonTag].Should().Be(TrainingStatusReasons.Completed);
        _host.Failed.GetMeasurementSnapshot().Should().BeEmpty("a finished run that later disappears is not a second outcome");

        var duration = _host.RunDuration.GetMeasurementSnapshot().Should().ContainSingle().Subject;
        duration.Value.Should().Be(600);
        duration.Tags[TrainingTelemetry.OutcomeTag].Should().Be("succeeded");
        duration.Tags[TrainingTelemetry.FrameworkTag].Should().Be("timm");
        var pending = _host.PendingDuration.GetMeasurementSnapshot().Should().ContainSingle().Subject;
        pending.Value.Should().Be(30);
        pending.Tags[TrainingTelemetry.ExecutorTag].Should().Be("alpha");
    }

    [Fact]
    public void Runs_first_seen_already_finished_are_not_counted()
    {
        // After a host restart the monitor re-lists runs that finished while no host watched.
        var old = new TrainingRun("alpha", "job-old", "alpha/job-old");
        _host.Hub.PublishStatus(TelemetryHost.Status(old, TrainingPhase.Failed, TrainingStatusReasons.NonZeroExitCode, TelemetryHost.T0, TelemetryHost.T0.AddMinutes(5)));
        var older = new TrainingRun("beta", "job-older", "beta/job-older");
        _host.Hub.PublishStatus(TelemetryHost.Status(older, TrainingPhase.Succeeded, TrainingStatusReasons.Completed, TelemetryHost.T0, TelemetryHost.T0.AddMinutes(5)));

        _host.Failed.GetMeasurementSnapshot().Should().BeEmpty();
        _host.Succeeded.GetMeasurementSnapshot().Should().BeEmpty();
        _host.RunDuration.GetMeasurementSnapshot().Should().BeEmpty();
    }

    [Fact]
    public void A_run_first_seen_live_after_a_restart_counts_its_outcome_with_an_unknown_framework()
    {
        var run = new TrainingRun("beta", "job-adopted", "beta/job-adopted");
        _host.Hub.PublishStatus(TelemetryHost.Status(run, TrainingPhase.Running, TrainingStatusReasons.Running, TelemetryHost.T0));
        _host.Hub.PublishStatus(TelemetryHost.Status(run, TrainingPhase.Failed, "CrashLoopBackOff", TelemetryHost.T0, TelemetryHost.T0.AddSeconds(90)));

        var failure = _host.Failed.GetMeasurementSnapshot().Should().ContainSingle().Subject;
        failure.Tags[TrainingTelemetry.ExecutorTag].Should().Be("beta");
        failure.Tags[TrainingTelemetry.FrameworkTag].Should().Be(TrainingMetrics.UnknownFramework);
        failure.Tags[TrainingTelemetry.ReasonTag].Should().Be("other", "reasons outside TrainingStatusReasons are folded to keep the tag's values few");
        _host.RunDuration.GetMeasurementSnapshot().Should().ContainSingle().Which.Value.Should().Be(90);
        _host.PendingDuration.GetMeasurementSnapshot().Should().BeEmpty("the wait was not seen by this host");
    }

    [Fact]
    public async Task A_run_that_fails_before_its_start_returns_is_counted_as_started_here()
    {
        var hub = _host.Hub;
        _host.Alpha.StartFailure = config =>
        {
            // The executor publishes its first status, already terminal, while the manager is still inside StartAsync.
            var early = new TrainingRun("alpha", config.JobId, $"alpha/{config.JobId}");
            hub.PublishStatus(TelemetryHost.Status(early, TrainingPhase.Failed, TrainingStatusReasons.LaunchFailed));
            return null;
        };

        await _host.Client.StartAsync(TelemetryHost.Job("job-early"));

        var failure = _host.Failed.GetMeasurementSnapshot().Should().ContainSingle().Subject;
        failure.Tags[TrainingTelemetry.FrameworkTag].Should().Be("ultralytics");
        failure.Tags[TrainingTelemetry.ReasonTag].Should().Be(TrainingStatusReasons.LaunchFailed);
        _host.RunDuration.GetMeasurementSnapshot().Should().BeEmpty("a run that never ran has no running time");
        _host.Starts.GetMeasurementSnapshot().Should().ContainSingle();
    }

    [Fact]
    public async Task A_repeated_start_of_the_same_run_is_one_start_and_its_outcome_is_counted_once()
    {
        var run = (await _host.Client.StartAsync(TelemetryHost.Job("job-twice"))).Run;
        ((await _host.Client.StartAsync(TelemetryHost.Job("job-twice"))).Run).Should().Be(run);
        _host.Hub.PublishStatus(TelemetryHost.Status(run, TrainingPhase.Running, TrainingStatusReasons.Running, TelemetryHost.T0));
        _host.Hub.PublishStatus(TelemetryHost.Status(run, TrainingPhase.Stopped, TrainingStatusReasons.StoppedByUser, TelemetryHost.T0, TelemetryHost.T0.AddSeconds(5)));
        _host.Hub.PublishStatus(TelemetryHost.Status(run, TrainingPhase.NotFound, TrainingStatusReasons.NotFound));

        _host.Starts.GetMeasurementSnapshot().Should().ContainSingle();
        var stopped = _host.Stopped.GetMeasurementSnapshot().Should().ContainSingle().Subject;
        stopped.Tags[TrainingTelemetry.ReasonTag].Should().Be(TrainingStatusReasons.StoppedByUser);
        stopped.Tags[TrainingTelemetry.FrameworkTag].Should().Be("ultralytics");
        _host.Failed.GetMeasurementSnapshot().Should().BeEmpty();
        _host.RunDuration.GetMeasurementSnapshot().Should().ContainSingle().Which.Tags[TrainingTelemetry.OutcomeTag].Should().Be("stopped");
    }

    [Fact]
    public async Task A_finished_run_the_hub_forgot_and_sees_again_is_not_counted_again()
    {
        var run = (await _host.Client.StartAsync(TelemetryHost.Job("job-forgotten"))).Run;
        _host.Hub.PublishStatus(TelemetryHost.Status(run, TrainingPhase.Running, TrainingStatusReasons.Running, TelemetryHost.T0));
        var done = TelemetryHost.Status(run, TrainingPhase.Succeeded, TrainingStatusReasons.Completed, TelemetryHost.T0, TelemetryHost.T0.AddSeconds(1));
        _host.Hub.PublishStatus(done);

        // The hub forgets its oldest finished runs; a later re-list then shows this one as first seen, already finished.
        for (var i = 0; i < TrainingEventHub.TerminalRetention + 1; i++)
        {
            _host.Hub.PublishStatus(TelemetryHost.Status(new TrainingRun("beta", $"filler-{i}", $"beta/filler-{i}"), TrainingPhase.Succeeded, TrainingStatusReasons.Completed));
        }

        _host.Hub.TryGetStatus("job-forgotten", out _).Should().BeFalse("the run must have been forgotten for this test to mean anything");
        _host.Hub.PublishStatus(done);

        _host.Succeeded.GetMeasurementSnapshot().Should().ContainSingle();
    }

    [Fact]
    public void The_same_job_id_on_a_new_resource_is_a_new_run()
    {
        var first = new TrainingRun("alpha", "job-reused", "alpha/job-reused-1");
        var second = new TrainingRun("alpha", "job-reused", "alpha/job-reused-2");
        _host.Hub.PublishStatus(TelemetryHost.Status(first, TrainingPhase.Running, TrainingStatusReasons.Running, TelemetryHost.T0));
        _host.Hub.PublishStatus(TelemetryHost.Status(first, TrainingPhase.Failed, TrainingStatusReasons.NonZeroExitCode, TelemetryHost.T0, TelemetryHost.T0.AddSeconds(1)));
        _host.Hub.PublishStatus(TelemetryHost.Status(second, TrainingPhase.Running, TrainingStatusReasons.Running, TelemetryHost.T0));
        _host.Hub.PublishStatus(TelemetryHost.Status(second, TrainingPhase.Succeeded, TrainingStatusReasons.Completed, TelemetryHost.T0, TelemetryHost.T0.AddSeconds(2)));

        _host.Failed.GetMeasurementSnapshot().Should().ContainSingle();
        _host.Succeeded.GetMeasurementSnapshot().Should().ContainSingle();
    }

    [Fact]
    public async Task A_retried_attempt_does_not_record_a_second_wait()
    {
        var run = (await _host.Client.StartAsync(TelemetryHost.Job("job-retried"))).Run;
        var t0 = TelemetryHost.T0;
        _host.Hub.PublishStatus(TelemetryHost.Status(run, TrainingPhase.Pending, TrainingStatusReasons.WaitingForGpu));
        _host.Hub.PublishStatus(TelemetryHost.Status(run, TrainingPhase.Running, TrainingStatusReasons.Running, t0.AddSeconds(45)));
        _host.Hub.PublishStatus(TelemetryHost.Status(run, TrainingPhase.Pending, TrainingStatusReasons.ContainerCreating) with { Attempt = 2 });
        _host.Hub.PublishStatus(TelemetryHost.Status(run, TrainingPhase.Running, TrainingStatusReasons.Running, t0.AddSeconds(200)) with { Attempt = 2 });

        _host.PendingDuration.GetMeasurementSnapshot().Should().ContainSingle().Which.Value.Should().Be(45);
    }

    [Fact]
    public async Task A_fallback_start_is_counted_on_the_executor_that_runs_it()
    {
        _host.Alpha.Availability = ExecutorAvailability.Unavailable("maintenance", TelemetryHost.T0);

        var result = await _host.Client.StartAsync(TelemetryHost.Job("job-fallback"));

        result.IsFallback.Should().BeTrue();
        var fallback = _host.Fallbacks.GetMeasurementSnapshot().Should().ContainSingle().Subject;
        fallback.Tags[TrainingTelemetry.RequestedExecutorTag].Should().Be("alpha");
        fallback.Tags[TrainingTelemetry.ExecutorTag].Should().Be("beta");
        _host.Starts.GetMeasurementSnapshot().Should().ContainSingle().Which.Tags[TrainingTelemetry.ExecutorTag].Should().Be("beta");
    }
}
