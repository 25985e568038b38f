namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>The Kubernetes monitor as a host runs it: phase events, status from its cache, cost, completion.</summary>
public class KubernetesMonitorTests
{
    [Fact]
    public async Task Runs_publish_each_phase_once_in_order_and_terminal_statuses_carry_their_cost()
    {
        await using var host = await MonitorHost.StartAsync(training: o =>
        {
            o.Cost.Currency = "USD";
            o.Cost.Default.CpuHour = 0.5m;
        });
        await host.WaitForSyncAsync();
        await using var recorder = new EventRecorder(host.Events);

        var runs = new List<TrainingRun>();
        for (var i = 0; i < 3; i++)
        {
            runs.Add(await host.Executor.StartAsync(WorkloadHarness.Trainer($"mon-phases-{i}").Build()));
        }

        await recorder.WaitForAsync(_ => runs.All(r => recorder.Phases(r.JobId).Any(e => e.Status.IsTerminal)), "every run to finish");

        foreach (var run in runs)
        {
            var phases = recorder.Phases(run.JobId);
            var trail = string.Join(", ", phases.Select(p => $"{p.Status.Phase}/{p.Status.Reason}#{p.Status.Attempt} exit {p.Status.ExitCode} '{p.Status.Message}'"));
            phases.Select(p => p.Status.Phase).Distinct().Should().Equal([TrainingPhase.Pending, TrainingPhase.Running, TrainingPhase.Succeeded], trail);
            phases.Count(p => p.Status.Phase == TrainingPhase.Running).Should().Be(1, $"a phase is published once ({trail})");
            phases.Count(p => p.Status.Phase == TrainingPhase.Succeeded).Should().Be(1, trail);
            phases[^1].Status.ExitCode.Should().Be(0, trail);
            phases.Select(p => p.Sequence).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
            var done = phases[^1].Status;
            done.Cost.Should().NotBeNull("a finished run that started has a cost");
            done.Cost!.CpuHours.Should().BeApproximately(0.1 * done.Cost.RunningHours, 1e-9, "the Job requests 100m CPU");
            done.Cost.Currency.Should().Be("USD");
            (await host.Executor.GetStatusAsync(run)).Cost.Should().Be(done.Cost);
        }
    }

    [Fact]
    public async Task Status_list_and_watch_reads_make_no_API_calls_while_the_monitor_is_synced()
    {
        await using var host = await MonitorHost.StartAsync();
        await host.WaitForSyncAsync();
        var run = await host.Executor.StartAsync(WorkloadHarness.Trainer("mon-reads").Build());
        await Eventually.GetAsync(() => host.Executor.GetStatusAsync(run), s => s.Phase == TrainingPhase.Succeeded, "the run to succeed", TimeSpan.FromSeconds(120));

        host.Api.Requests.Clear();
        for (var i = 0; i < 20; i++)
        {
            (await host.Executor.GetStatusAsync(run)).Phase.Should().Be(TrainingPhase.Succeeded);
        }

        (await host.Executor.ListAsync()).Should().ContainSingle(s => s.JobId == "mon-reads" && s.Phase == TrainingPhase.Succeeded);
        (await host.Executor.ListAsync(new TrainingRunQuery { ProjectId = "project-7", Phases = [TrainingPhase.Succeeded] })).Should().ContainSingle();
        (await host.Executor.ListAsync(new TrainingRunQuery { ProjectId = "another" })).Should().BeEmpty();

        // the cache keeps the job id label apart from the labels all runs share: both are matched
        (await host.Executor.ListAsync(new TrainingRunQuery { Labels = new Dictionary<string, string> { [KubernetesLabels.JobId] = "mon-reads", [KubernetesLabels.ManagedBy] = KubernetesLabels.ManagedByValue } }))
            .Should().ContainSingle(s => s.JobId == "mon-reads");
        (await host.Executor.ListAsync(new TrainingRunQuery { Labels = new Dictionary<string, string> { [KubernetesLabels.JobId] = "mon-other" } })).Should().BeEmpty();
        (await host.Executor.ListAsync(new TrainingRunQuery { Labels = new Dictionary<string, string> { [KubernetesLabels.App] = "not-the-app" } })).Should().BeEmpty();
        var watched = new List<TrainingRunStatus>();
        await foreach (var status in host.Executor.WatchAsync(run))
        {
            watched.Add(status);
        }

        watched.Should().ContainSingle().Which.Phase.Should().Be(TrainingPhase.Succeeded);
        host.Api.Requests.Entries.Where(e => e.Verb is not "watch").Should().BeEmpty("reads are served from the monitor's cache");
    }

    [Fact]
    public async Task WatchAsync_follows_a_run_from_the_cache_and_WaitForCompletionAsync_returns_its_final_status()
    {
        await using var host = await MonitorHost.StartAsync();
        await host.WaitForSyncAsync();
        var run = await host.Executor.StartAsync(WorkloadHarness.Trainer("mon-wait", """{"epoch_seconds": 0.5}""").Build());

        var waiting = host.Client.GetOperation(run).WaitForCompletionAsync(TimeSpan.FromSeconds(120));
        var watched = new List<TrainingRunStatus>();
        await foreach (var status in host.Executor.WatchAsync(run).WithCancellation(new CancellationTokenSource(TimeSpan.FromSeconds(120)).Token))
        {
            watched.Add(status);
        }

        watched.Select(s => s.Phase).Should().Contain(TrainingPhase.Running).And.EndWith(TrainingPhase.Succeeded);
        var final = await waiting;
        final.Phase.Should().Be(TrainingPhase.Succeeded);
        final.ExitCode.Should().Be(0);
        final.Cost.Should().NotBeNull();
        final.Run.Should().Be(run);
    }

    [Fact]
    public async Task A_stopped_run_is_reported_Stopped_once_by_the_monitor()
    {
        await using var host = await MonitorHost.StartAsync();
        await host.WaitForSyncAsync();
        await using var recorder = new EventRecorder(host.Events);
        var run = await host.Executor.StartAsync(WorkloadHarness.Trainer("mon-stop", """{"epoch_seconds": 5}""", epochs: 20).Build());
        await recorder.WaitForAsync(_ => recorder.Phases(run.JobId).Any(e => e.Status.Phase == TrainingPhase.Running), "the run to run");

        (await host.Executor.StopAsync(run)).Phase.Should().Be(TrainingPhase.Stopped);
        await recorder.WaitForAsync(_ => recorder.Phases(run.JobId).Any(e => e.Status.Phase == TrainingPhase.Stopped), "the Stopped event");
        (await host.Executor.GetStatusAsync(run)).Phase.Should().Be(TrainingPhase.Stopped);
        recorder.Phases(run.JobId).Count(e => e.Status.IsTerminal).Should().Be(1);
    }
}
