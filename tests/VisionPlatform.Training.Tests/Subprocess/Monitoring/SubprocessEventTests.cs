using System.Text.Json.Nodes;
using VisionPlatform.Training.Tests.Monitoring;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using VisionPlatform.Training.Testing;
using static VisionPlatform.Training.Tests.Subprocess.SubprocessTestContext;

namespace VisionPlatform.Training.Tests.Subprocess.Monitoring;

/// <summary>Real trainer processes (samples/trainer/train.py) whose state changes, progress and log reach subscribers.</summary>
public sealed class SubprocessEventTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly SubprocessTestContext _ctx = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _ctx.DisposeAsync();

    [Fact]
    public async Task A_run_publishes_each_phase_once_in_order_then_its_progress_before_the_final_status_with_cost()
    {
        await using var provider = BuildProvider(o =>
        {
            o.Subprocess.Gpus.Add(0);
            o.Cost.Currency = "EUR";
            o.Cost.Default.GpuHour = 100m;
            o.Cost.Executors[TrainingExecutorNames.Subprocess] = new TrainingCostRates { GpuHour = 3600m, CpuHour = 360m };
        });
        var executor = provider.GetRequiredKeyedService<ITrainingExecutor>(TrainingExecutorNames.Subprocess);
        var events = provider.GetRequiredService<ITrainingEventSource>();
        await using var recorder = new TrainingEventCollector(events, new TrainingEventSubscription { IncludeCurrentState = false });
        var builder = Job("job-phases", epochs: 3, new { epoch_seconds = 0.3 });
        builder.Resources = new TrainingResources { Gpus = 1, CpuRequest = "500m" };

        var run = await executor.StartAsync(builder.Build());
        var final = await provider.GetRequiredService<TrainingClient>().GetOperation(run).WaitForCompletionAsync(Patience);
        var status = await executor.GetStatusAsync(run);
        await recorder.WaitForPhaseAsync(run.JobId, TrainingPhase.Succeeded, Patience);

        final.Phase.Should().Be(TrainingPhase.Succeeded, final.Message);
        final.ExitCode.Should().Be(0);
        var mine = recorder.Events.OfType<TrainingRunEvent>().Where(e => e.JobId == run.JobId).ToList();
        mine.Select(e => e.Sequence).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        var phases = mine.OfType<TrainingPhaseChangedEvent>().Select(e => e.Status.Phase).ToList();
        phases.Where(p => p != TrainingPhase.Pending).Should().Equal(TrainingPhase.Running, TrainingPhase.Succeeded);
        phases.Count(p => p == TrainingPhase.Pending).Should().BeLessThanOrEqualTo(1);
        phases[0].Should().BeOneOf(TrainingPhase.Pending, TrainingPhase.Running);
        mine.OfType<TrainingPhaseChangedEvent>().Last().PreviousPhase.Should().Be(TrainingPhase.Running);

        // Progress parsed from the trainer's VP_PROGRESS lines, every epoch once, all before the terminal event.
        var progress = mine.OfType<TrainingProgressEvent>().Select(e => e.Progress).ToList();
        progress.Select(p => p.Epoch).Should().Equal(1, 2, 3);
        progress.Should().OnlyContain(p => p.TotalEpochs == 3 && p.Step > 0 && p.Metrics.ContainsKey("loss") && p.Metrics.ContainsKey("accuracy"));
        progress.Select(p => p.Percent).Should().Equal(100.0 / 3, 200.0 / 3, 100.0);
        progress[0].EstimatedTimeRemaining.Should().BePositive("two epochs were left after the first");
        progress[^1].EstimatedTimeRemaining.Should().Be(TimeSpan.Zero);
        mine.Last().Should().BeOfType<TrainingPhaseChangedEvent>().Which.Status.IsTerminal.Should().BeTrue();
        mine.OfType<TrainingLogEvent>().Should().BeEmpty("logs are opt-in");

        // Cost: 1 GPU and half a core for the running time, priced with the executor's own rates.
        var terminalEvent = mine.OfType<TrainingPhaseChangedEvent>().Last().Status;
        foreach (var s in new[] { final, terminalEvent, status })
        {
            var cost = s.Cost;
            cost.Should().NotBeNull();
            var hours = (s.FinishedAt!.Value - s.StartedAt!.Value).TotalHours;
            cost!.RunningHours.Should().BeApproximately(hours, 1e-9).And.BePositive();
            cost.GpuHours.Should().BeApproximately(hours, 1e-9);
            cost.CpuHours.Should().BeApproximately(hours * 0.5, 1e-9);
            cost.Amount.Should().Be(Math.Round((decimal)cost.GpuHours * 3600m + (decimal)cost.CpuHours * 360m, 4, MidpointRounding.AwayFromZero));
            cost.Currency.Should().Be("EUR");
        }

        status.Progress.Should().NotBeNull();
        status.Progress!.Epoch.Should().Be(3);
        status.Progress.Percent.Should().Be(100);
        status.Progress.Metrics.Should().ContainKey("loss");
        status.Progress.EstimatedTimeRemaining.Should().Be(TimeSpan.Zero);
        (await executor.ListAsync()).Should().ContainSingle().Which.Progress!.Epoch.Should().Be(3);
    }

    [Fact]
    public async Task Log_lines_reach_only_subscribers_that_ask_and_a_job_subscriber_sees_only_its_run()
    {
        var hub = new TrainingEventHub(TimeProvider.System);
        var executor = _ctx.CreatePublishingExecutor(_ctx.NewOptions(), hub);
        await using var logsOfA = new TrainingEventCollector(hub, new TrainingEventSubscription { JobId = "job-a", IncludeLogs = true, IncludeCurrentState = false });
        await using var onlyB = new TrainingEventCollector(hub, new TrainingEventSubscription { JobId = "job-b", IncludeCurrentState = false });

        var a = await executor.StartAsync(Job("job-a", epochs: 2, new { log_lines_per_epoch = 3 }).Build());
        var b = await executor.StartAsync(Job("job-b", epochs: 2, new { log_lines_per_epoch = 3 }).Build());
        await hub.WaitForCompletionAsync(a, Patience);
        await hub.WaitForCompletionAsync(b, Patience);
        await logsOfA.WaitForPhaseAsync("job-a", TrainingPhase.Succeeded, Patience);
        await onlyB.WaitForPhaseAsync("job-b", TrainingPhase.Succeeded, Patience);

        logsOfA.Events.OfType<TrainingRunEvent>().Should().OnlyContain(e => e.JobId == "job-a");
        onlyB.Events.OfType<TrainingRunEvent>().Should().OnlyContain(e => e.JobId == "job-b");
        onlyB.Events.OfType<TrainingLogEvent>().Should().BeEmpty();
        onlyB.Events.OfType<TrainingProgressEvent>().Should().HaveCount(2);

        // Every line of the log, in order, before the terminal event; progress lines are log lines too.
        var lines = logsOfA.Events.OfType<TrainingLogEvent>().Select(e => e.Line.Text).ToList();
        lines.Should().Equal(await ReadLogAsync(executor, a));
        lines.Should().Contain(l => l.StartsWith(TrainingProgressProtocol.Prefix, StringComparison.Ordinal));
        logsOfA.Events.OfType<TrainingLogEvent>().Should().OnlyContain(e => e.Line.Timestamp != null);
        logsOfA.Events.OfType<TrainingRunEvent>().Last().Should().BeOfType<TrainingPhaseChangedEvent>();
        executor.FollowedRuns.Should().Be(0, "finished runs are not followed");
    }

    [Fact]
    public async Task Failed_and_stopped_runs_publish_their_exit_code_and_cost()
    {
        var hub = new TrainingEventHub(TimeProvider.System);
        var executor = _ctx.CreatePublishingExecutor(_ctx.NewOptions(), hub);
        await using var recorder = new TrainingEventCollector(hub, new TrainingEventSubscription { IncludeCurrentState = false });

        var failing = await executor.StartAsync(Job("job-fails", epochs: 5, new { fail_at_epoch = 2 }).Build());
        var long_ = await executor.StartAsync(Job("job-stopped", epochs: 1000, new { epoch_seconds = 0.2 }).Build());
        var failed = await hub.WaitForCompletionAsync(failing, Patience);
        await recorder.WaitForAsync<TrainingProgressEvent>(e => e.JobId == "job-stopped", Patience);
        var stopResult = await executor.StopAsync(long_, new TrainingStopOptions { GracePeriod = TimeSpan.FromSeconds(20) });
        var stopped = await hub.WaitForCompletionAsync(long_, Patience);
        await recorder.WaitForPhaseAsync("job-fails", TrainingPhase.Failed, Patience);
        await recorder.WaitForPhaseAsync("job-stopped", TrainingPhase.Stopped, Patience);

        failed.Phase.Should().Be(TrainingPhase.Failed);
        failed.ExitCode.Should().Be(1);
        failed.Progress!.Epoch.Should().Be(1, "epoch 1 completed before the failure at epoch 2");
        failed.Progress.EstimatedTimeRemaining.Should().BeNull("a failed run will not finish");
        failed.Cost.Should().NotBeNull();
        failed.Cost!.Amount.Should().BeNull("no price table");
        failed.Cost.GpuHours.Should().Be(0);
        failed.Cost.CpuHours.Should().BeApproximately(failed.Cost.RunningHours, 1e-9, "one core by default");

        stopped.Phase.Should().Be(TrainingPhase.Stopped);
        stopped.Reason.Should().Be(TrainingStatusReasons.StoppedByUser);
        stopped.ExitCode.Should().NotBeNull().And.Be(stopResult.ExitCode);
        stopped.Cost.Should().NotBeNull();
        stopped.Cost!.RunningHours.Should().BePositive();
        stopResult.Cost.Should().Be(stopped.Cost);

        foreach (var jobId in new[] { "job-fails", "job-stopped" })
        {
            var phases = recorder.OfRun<TrainingPhaseChangedEvent>(jobId);
            phases.Select(p => p.Status.Phase).Where(p => p != TrainingPhase.Pending).Should().HaveCount(2).And.StartWith(TrainingPhase.Running);
            phases[^1].Status.ExitCode.Should().NotBeNull();
            phases[^1].Status.Cost.Should().NotBeNull();
            recorder.OfRun<TrainingRunEvent>(jobId).Select(e => e.Sequence).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        }

        recorder.OfRun<TrainingPhaseChangedEvent>("job-fails")[^1].Status.ExitCode.Should().Be(1);
    }

    [Fact]
    public async Task A_queued_run_is_published_as_waiting_for_a_slot_and_runs_once_the_first_run_has_ended()
    {
        var hub = new TrainingEventHub(TimeProvider.System);
        var executor = _ctx.CreatePublishingExecutor(_ctx.NewOptions(maxConcurrentRuns: 1), hub);
        await using var recorder = new TrainingEventCollector(hub, new TrainingEventSubscription { IncludeCurrentState = false, IncludeProgress = false });

        var first = await executor.StartAsync(Job("job-first", epochs: 2, new { epoch_seconds = 0.3 }).Build());
        var second = await executor.StartAsync(Job("job-second", epochs: 1).Build());
        await hub.WaitForCompletionAsync(second, Patience);
        await recorder.WaitForPhaseAsync("job-second", TrainingPhase.Succeeded, Patience);

        var queued = recorder.OfRun<TrainingPhaseChangedEvent>("job-second");
        queued.Select(e => (e.Status.Phase, e.Status.Reason)).Should().Equal(
            (TrainingPhase.Pending, TrainingStatusReasons.WaitingForSlot),
            (TrainingPhase.Running, TrainingStatusReasons.Running),
            (TrainingPhase.Succeeded, TrainingStatusReasons.Completed));
        queued.Select(e => e.Sequence).Should().Equal(1, 2, 3);
        queued[0].Status.Cost.Should().BeNull("a queued run has cost nothing");
        var all = recorder.Events.ToList();
        all.IndexOf(queued[1]).Should().BeGreaterThan(all.IndexOf(recorder.OfRun<TrainingPhaseChangedEvent>("job-first").Single(e => e.Status.IsTerminal)),
            "the slot frees when the first run ends");
        recorder.Events.OfType<TrainingProgressEvent>().Should().BeEmpty("nobody asked for progress");
        first.JobId.Should().Be("job-first");
    }

    [Fact]
    public async Task A_subscriber_that_arrives_mid_run_gets_the_latest_progress_and_following_ends_with_the_subscription()
    {
        var hub = new TrainingEventHub(TimeProvider.System);
        var executor = _ctx.CreatePublishingExecutor(_ctx.NewOptions(), hub);
        var run = await executor.StartAsync(Job("job-late", epochs: 1000, new { epoch_seconds = 0.2 }).Build());
        var running = await WaitForAsync(executor, run, s => s.Progress is { Epoch: >= 2 });
        executor.FollowedRuns.Should().Be(0, "nobody wants its progress or logs");
        running.Progress!.TotalEpochs.Should().Be(1000);
        running.Progress.EstimatedTimeRemaining.Should().BePositive();

        var late = new TrainingEventCollector(hub, new TrainingEventSubscription { JobId = "job-late" });
        var first = await late.WaitForAsync<TrainingProgressEvent>(_ => true, Patience);
        first.Progress.Epoch.Should().BeGreaterThanOrEqualTo(running.Progress.Epoch);
        await late.WaitForAsync<TrainingProgressEvent>(e => e.Progress.Epoch > first.Progress.Epoch, Patience);
        executor.FollowedRuns.Should().Be(1);
        late.Events.OfType<TrainingProgressEvent>().Select(e => e.Progress.Epoch).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();

        await late.DisposeAsync();
        executor.FollowedRuns.Should().Be(0, "the last subscriber left");
        var later = await WaitForAsync(executor, run, s => s.Progress!.Epoch > first.Progress.Epoch + 2);
        later.Phase.Should().Be(TrainingPhase.Running);
    }

    [Fact]
    public async Task A_restarted_host_publishes_reattached_and_lost_runs_at_start_up()
    {
        TrainingRun live, lost;
        await using (var first = BuildProvider(track: false))
        {
            var executor = first.GetRequiredKeyedService<ITrainingExecutor>(TrainingExecutorNames.Subprocess);
            live = await executor.StartAsync(Job("job-survives", epochs: 1000, new { epoch_seconds = 0.2 }).Build());
            lost = await executor.StartAsync(Job("job-lost", epochs: 1).Build());
            await WaitForAsync(executor, live, s => s.Phase == TrainingPhase.Running);
            await WaitTerminalAsync(executor, lost);
        }

        // The host went away while job-lost "ran": its state says Running with a process that is not the one recorded.
        var statePath = Path.Combine(_ctx.RunDirectory(lost), "state.json");
        var state = JsonNode.Parse(File.ReadAllText(statePath))!;
        state["phase"] = "Running";
        state["reason"] = "Running";
        state["exitCode"] = null;
        state["finishedAt"] = null;
        state["pid"] = Environment.ProcessId;
        state["processStartTicks"] = 1;
        File.WriteAllText(statePath, state.ToJsonString());

        await using var second = BuildProvider();
        var events = second.GetRequiredService<ITrainingEventSource>();
        await using var recorder = new TrainingEventCollector(events, new TrainingEventSubscription { IncludeCurrentState = false });
        foreach (var service in second.GetServices<IHostedService>())
        {
            await service.StartAsync(CancellationToken.None);
        }

        // Nobody called the executor: the start-up recovery found both runs and published what it found.
        var reattached = await recorder.WaitForPhaseAsync("job-survives", TrainingPhase.Running, Patience);
        var lostEvent = await recorder.WaitForPhaseAsync("job-lost", TrainingPhase.Lost, Patience);
        reattached.Status.Run.Should().Be(live);
        reattached.Status.StartedAt.Should().NotBeNull();
        lostEvent.Status.Reason.Should().Be(TrainingStatusReasons.ExitNotObserved);
        lostEvent.Status.Cost.Should().NotBeNull();
        await recorder.WaitForAsync<TrainingProgressEvent>(e => e.JobId == "job-survives", Patience);

        var restarted = second.GetRequiredKeyedService<ITrainingExecutor>(TrainingExecutorNames.Subprocess);
        var stopped = await restarted.StopAsync(live, new TrainingStopOptions { GracePeriod = TimeSpan.FromSeconds(20) });
        var stoppedEvent = await recorder.WaitForPhaseAsync("job-survives", TrainingPhase.Stopped, Patience);
        stoppedEvent.Status.ExitCode.Should().Be(stopped.ExitCode);
        recorder.OfRun<TrainingPhaseChangedEvent>("job-survives").Select(e => e.Status.Phase).Should().Equal(TrainingPhase.Running, TrainingPhase.Stopped);
        recorder.OfRun<TrainingPhaseChangedEvent>("job-lost").Should().ContainSingle();
        foreach (var service in second.GetServices<IHostedService>())
        {
            await service.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task WatchAsync_reports_new_epochs_and_ends_with_the_terminal_status_and_its_cost()
    {
        var executor = _ctx.CreateExecutor();
        var run = await executor.StartAsync(Job("job-watch", epochs: 4, new { epoch_seconds = 0.5 }).Build());

        var seen = new List<TrainingRunStatus>();
        using var cts = new CancellationTokenSource(Patience);
        await foreach (var status in executor.WatchAsync(run, cts.Token))
        {
            seen.Add(status);
        }

        seen[^1].Phase.Should().Be(TrainingPhase.Succeeded);
        seen[^1].Progress!.Epoch.Should().Be(4);
        seen[^1].Cost.Should().NotBeNull("an executor built by hand computes cost without prices");
        seen[^1].Cost!.Amount.Should().BeNull();
        seen.Where(s => s.Phase == TrainingPhase.Running && s.Progress is not null).Should().NotBeEmpty("epochs of half a second are seen while running");
        seen.Zip(seen.Skip(1))
            .Where(p => p.First.Phase == p.Second.Phase)
            .Select(p => (Before: p.First.Progress?.Epoch, After: p.Second.Progress?.Epoch))
            .Should().OnlyContain(p => p.Before != p.After, "a status is reported again only when something changed, not because the estimate moved with the clock");
    }

    private ServiceProvider BuildProvider(Action<TrainingOptions>? configure = null, bool track = true)
    {
        var services = new ServiceCollection();
        services.AddTrainingExecutors(o =>
        {
            o.DefaultExecutor = TrainingExecutorNames.Subprocess;
            o.Subprocess.RunsDirectory = _ctx.RunsDirectory;
            o.Subprocess.Interpreter = Python;
            o.Subprocess.Script = TrainPy;
            o.Subprocess.StopGracePeriod = TimeSpan.FromSeconds(10);
            configure?.Invoke(o);
        }).AddSubprocess();
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        if (track)
        {
            _ctx.Track(provider.GetRequiredService<VisionPlatform.Training.Subprocess.SubprocessTrainingExecutor>());
        }

        return provider;
    }
}
