using VisionPlatform.Training.Diagnostics;

namespace VisionPlatform.Training.Tests.Diagnostics;

/// <summary>The active-runs gauge and the subscriber instruments, read from the DI-built hub.</summary>
public sealed class HubMetricsTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly TelemetryHost _host = new();

    public void Dispose() => _host.Dispose();

    private static TrainingRun Run(string executor, string id) => new(executor, id, $"{executor}/{id}");

    [Fact]
    public void Active_runs_are_reported_by_executor_phase_and_reason_and_drop_to_zero()
    {
        var hub = _host.Hub;
        hub.PublishStatus(TelemetryHost.Status(Run("alpha", "a1"), TrainingPhase.Running, TrainingStatusReasons.Running, TelemetryHost.T0));
        hub.PublishStatus(TelemetryHost.Status(Run("alpha", "a2"), TrainingPhase.Running, TrainingStatusReasons.Running, TelemetryHost.T0));
        hub.PublishStatus(TelemetryHost.Status(Run("alpha", "a3"), TrainingPhase.Pending, TrainingStatusReasons.WaitingForGpu));
        hub.PublishStatus(TelemetryHost.Status(Run("beta", "b1"), TrainingPhase.Running, TrainingStatusReasons.Running, TelemetryHost.T0));
        hub.PublishStatus(TelemetryHost.Status(Run("beta", "b2"), TrainingPhase.Pending, "SomeNewKubeletReason"));
        hub.PublishStatus(TelemetryHost.Status(Run("beta", "b3"), TrainingPhase.Succeeded, TrainingStatusReasons.Completed));

        _host.ActiveNow().Should().BeEquivalentTo(new Dictionary<(string, string, string), long>
        {
            [("alpha", "running", TrainingStatusReasons.Running)] = 2,
            [("alpha", "pending", TrainingStatusReasons.WaitingForGpu)] = 1,
            [("beta", "running", TrainingStatusReasons.Running)] = 1,
            [("beta", "pending", "other")] = 1,
        });

        hub.PublishStatus(TelemetryHost.Status(Run("beta", "b1"), TrainingPhase.Failed, TrainingStatusReasons.OomKilled, TelemetryHost.T0, TelemetryHost.T0.AddMinutes(1)));
        hub.PublishStatus(TelemetryHost.Status(Run("beta", "b2"), TrainingPhase.Stopped, TrainingStatusReasons.StoppedByUser));
        hub.PublishStatus(TelemetryHost.Status(Run("alpha", "a3"), TrainingPhase.Running, TrainingStatusReasons.Running, TelemetryHost.T0));

        _host.ActiveNow().Should().BeEquivalentTo(new Dictionary<(string, string, string), long>
        {
            [("alpha", "running", TrainingStatusReasons.Running)] = 3,
            [("alpha", "pending", TrainingStatusReasons.WaitingForGpu)] = 0,
            [("beta", "running", TrainingStatusReasons.Running)] = 0,
            [("beta", "pending", "other")] = 0,
        }, "a series that was reported goes to zero rather than disappearing");
    }

    [Fact]
    public void The_oldest_pending_run_shows_how_long_a_job_has_been_stuck()
    {
        var hub = _host.Hub;
        _host.OldestPendingNow().Should().BeEmpty();
        hub.PublishStatus(TelemetryHost.Status(Run("alpha", "gpu-1"), TrainingPhase.Pending, TrainingStatusReasons.Unschedulable)); // created at T0
        hub.PublishStatus(TelemetryHost.Status(Run("alpha", "gpu-2"), TrainingPhase.Pending, TrainingStatusReasons.WaitingForGpu) with { CreatedAt = TelemetryHost.T0.AddMinutes(30) });
        hub.PublishStatus(TelemetryHost.Status(Run("beta", "cpu-1"), TrainingPhase.Running, TrainingStatusReasons.Running, TelemetryHost.T0));

        _host.Time.Advance(TimeSpan.FromMinutes(40));
        _host.OldestPendingNow().Should().Equal(new Dictionary<string, double> { ["alpha"] = 2_400 });

        hub.PublishStatus(TelemetryHost.Status(Run("alpha", "gpu-1"), TrainingPhase.Running, TrainingStatusReasons.Running, TelemetryHost.T0.AddMinutes(40)));
        _host.OldestPendingNow().Should().Equal(new Dictionary<string, double> { ["alpha"] = 600 });

        hub.PublishStatus(TelemetryHost.Status(Run("alpha", "gpu-2"), TrainingPhase.Running, TrainingStatusReasons.Running, TelemetryHost.T0.AddMinutes(40)));
        _host.OldestPendingNow().Should().Equal(new Dictionary<string, double> { ["alpha"] = 0 });
    }

    [Fact]
    public async Task Events_a_slow_subscriber_loses_are_counted_and_subscriptions_are_gauged()
    {
        var hub = _host.Hub;
        _host.SubscribersNow().Should().Be(0);
        await using (var slow = hub.SubscribeAsync(new TrainingEventSubscription { IncludeCurrentState = false, BufferCapacity = 16 }).GetAsyncEnumerator())
        {
            var first = slow.MoveNextAsync();
            hub.PublishStatus(TelemetryHost.Status(Run("alpha", "e-0"), TrainingPhase.Running, TrainingStatusReasons.Running));
            (await first.AsTask().WaitAsync(Patience)).Should().BeTrue();
            _host.SubscribersNow().Should().Be(1);

            // The subscriber reads nothing more: 21 events into a buffer of 16 drop the 5 oldest.
            for (var i = 1; i <= 21; i++)
            {
                hub.PublishStatus(TelemetryHost.Status(Run("alpha", $"e-{i}"), TrainingPhase.Running, TrainingStatusReasons.Running));
            }

            (await slow.MoveNextAsync().AsTask().WaitAsync(Patience)).Should().BeTrue();
            slow.Current.Should().BeOfType<TrainingEventsDroppedEvent>().Which.Count.Should().Be(5);
        }

        var dropped = _host.EventsDropped.GetMeasurementSnapshot();
        dropped.Sum(m => m.Value).Should().Be(5);
        dropped.Should().OnlyContain(m => (string)m.Tags[TrainingTelemetry.OverflowPolicyTag]! == "drop_oldest");
        _host.SubscribersNow().Should().Be(0);
    }

    [Fact]
    public async Task A_disconnected_subscriber_counts_every_event_it_never_received()
    {
        var hub = _host.Hub;
        await using var slow = hub.SubscribeAsync(new TrainingEventSubscription
        {
            IncludeCurrentState = false,
            BufferCapacity = 16,
            OverflowPolicy = TrainingEventOverflowPolicy.Disconnect,
        }).GetAsyncEnumerator();
        var first = slow.MoveNextAsync();
        hub.PublishStatus(TelemetryHost.Status(Run("alpha", "d-0"), TrainingPhase.Running, TrainingStatusReasons.Running));
        (await first.AsTask().WaitAsync(Patience)).Should().BeTrue();

        for (var i = 1; i <= 20; i++)
        {
            hub.PublishStatus(TelemetryHost.Status(Run("alpha", $"d-{i}"), TrainingPhase.Running, TrainingStatusReasons.Running));
        }

        var act = async () => await slow.MoveNextAsync();
        (await act.Should().ThrowAsync<TrainingException>()).Which.Code.Should().Be(TrainingErrorCode.SubscriberOverflow);
        var dropped = _host.EventsDropped.GetMeasurementSnapshot().Should().ContainSingle().Subject;
        dropped.Value.Should().Be(17, "16 buffered events and the one that overflowed were never delivered");
        dropped.Tags[TrainingTelemetry.OverflowPolicyTag].Should().Be("disconnect");
    }
}
