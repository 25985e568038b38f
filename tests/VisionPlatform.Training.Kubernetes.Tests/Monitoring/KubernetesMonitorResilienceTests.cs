using VisionPlatform.Training.Kubernetes.TestCluster.Store;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>
/// The monitor across what real API servers do to watches: connections dropped mid-stream, streams that end without
/// an error, streams that go silent, expired history (410) and outages. Every run's subscriber must still see each
/// phase exactly once, in order.
/// </summary>
public class KubernetesMonitorResilienceTests
{
    [Fact]
    public async Task Watches_dropped_mid_stream_resume_from_the_last_resourceVersion_without_a_relist_or_duplicate_events()
    {
        await using var host = await MonitorHost.StartAsync();
        await host.WaitForSyncAsync();
        await using var recorder = new EventRecorder(host.Events);
        var runs = await StartAsync(host, "mon-drop", 3, """{"epoch_seconds": 0.5}""");

        var dropped = 0;
        while (!AllFinished(recorder, runs))
        {
            dropped += host.Api.Faults.DropWatches();
            await Task.Delay(300);
            recorder.Events.Should().HaveCountLessThan(1000);
            if (dropped > 400)
            {
                break;
            }
        }

        await recorder.WaitForAsync(_ => AllFinished(recorder, runs), "every run to finish");
        dropped.Should().BeGreaterThan(2, "the test dropped watches while the runs went on");
        AssertEachPhaseOnce(recorder, runs);
        host.Api.Requests.CountOf("list", "jobs").Should().Be(1, "a dropped watch resumes from its resourceVersion");
        host.Api.Requests.CountOf("list", "pods").Should().Be(1);
    }

    [Fact]
    public async Task Watches_the_server_ends_without_error_are_reopened_from_the_last_resourceVersion()
    {
        await using var host = await MonitorHost.StartAsync(m => m.WatchTimeout = TimeSpan.FromSeconds(1));
        await host.WaitForSyncAsync();
        await using var recorder = new EventRecorder(host.Events);
        var runs = await StartAsync(host, "mon-timeout", 2, """{"epoch_seconds": 1}""");

        await recorder.WaitForAsync(_ => AllFinished(recorder, runs), "every run to finish");
        AssertEachPhaseOnce(recorder, runs);
        host.Api.Requests.CountOf("watch", "jobs").Should().BeGreaterThan(2, "each watch ended after timeoutSeconds=1 and was reopened");
        host.Api.Requests.Entries.Where(e => e.Verb == "watch").Should().OnlyContain(e => e.Query.Contains("allowWatchBookmarks=true") && e.Query.Contains("timeoutSeconds=1"));
        host.Api.Requests.CountOf("list", "jobs").Should().Be(1);
    }

    [Fact]
    public async Task A_watch_that_goes_silent_is_reopened_after_the_idle_timeout()
    {
        await using var host = await MonitorHost.StartAsync(
            m => m.IdleTimeout = TimeSpan.FromSeconds(1),
            c => c.WatchBookmarkInterval = TimeSpan.FromMilliseconds(200));
        await host.WaitForSyncAsync();
        await host.WaitForWatchesAsync();
        await using var recorder = new EventRecorder(host.Events);
        var watches = host.Api.Requests.CountOf("watch");
        host.Api.Faults.StallWatches().Should().Be(3, "one watch for Jobs, one for pods, one for FailedCreate Events");

        var runs = await StartAsync(host, "mon-stall", 1, """{"epoch_seconds": 0.2}""");

        await recorder.WaitForAsync(_ => AllFinished(recorder, runs), "the run to finish although the first watches went silent");
        AssertEachPhaseOnce(recorder, runs);
        host.Api.Requests.CountOf("watch").Should().BeGreaterThanOrEqualTo(watches + 2);
        host.Api.Requests.CountOf("list", "jobs").Should().Be(1, "a silent watch is reopened from its resourceVersion");
    }

    [Fact]
    public async Task Expired_history_relists_and_reconciles_what_changed_in_the_gap()
    {
        await using var host = await MonitorHost.StartAsync();
        await host.WaitForSyncAsync();
        await using var recorder = new EventRecorder(host.Events);
        var stopped = (await StartAsync(host, "mon-gone-deleted", 1, """{"epoch_seconds": 2}""", epochs: 30))[0];
        await recorder.WaitForAsync(_ => recorder.Phases(stopped.JobId).Any(e => e.Status.Phase == TrainingPhase.Running), "the first run to run");
        var finished = (await StartAsync(host, "mon-gone-finished", 1, """{"epoch_seconds": 0.5}"""))[0];
        await recorder.WaitForAsync(_ => recorder.Phases(finished.JobId).Count > 0, "the second run to be seen");
        await host.Api.Faults.RefuseConnectionsAsync();

        // While the monitor cannot watch: one run finishes, the other's Job is deleted, and the history expires.
        await Eventually.GetAsync(
            () => Task.FromResult(host.Api.Store.Get(ResourceType.Jobs, "training", NameOf(finished))),
            job => Json.Walk(job, "status", "completionTime") is not null,
            "the second run to complete while the API is unreachable");
        host.Api.Store.Delete(ResourceType.Jobs, "training", NameOf(stopped), new DeleteOptions { PropagationPolicy = PropagationPolicy.Background });
        host.Api.Faults.ExpireWatchHistory();
        await host.Api.Faults.AcceptConnectionsAsync();

        await recorder.WaitForAsync(_ => AllFinished(recorder, [stopped, finished]), "both runs to be reported finished");
        host.Api.Requests.CountOf("list", "jobs").Should().BeGreaterThanOrEqualTo(2, "the watch got 410 and the monitor listed again");
        recorder.Phases(stopped.JobId).Where(e => e.Status.IsTerminal).Should().ContainSingle()
            .Which.Status.Phase.Should().Be(TrainingPhase.Stopped, "a Job deleted during the gap is a stopped run");
        AssertEachPhaseOnce(recorder, [finished]);
        // The deleted Job was the run's record: its end went out as an event, and reads now answer NotFound, the same
        // as a direct read or another host (the job-id rule: once the record is gone the id is free).
        (await host.Executor.GetStatusAsync(stopped)).Phase.Should().Be(TrainingPhase.NotFound);
        using var direct = host.Cluster.NewExecutor();
        (await direct.GetStatusAsync(stopped)).Phase.Should().Be(TrainingPhase.NotFound);
        (await host.Executor.GetStatusAsync(finished)).Phase.Should().Be(TrainingPhase.Succeeded);
    }

    [Fact]
    public async Task After_an_API_outage_statuses_catch_up_with_each_phase_published_once()
    {
        await using var host = await MonitorHost.StartAsync();
        await host.WaitForSyncAsync();
        await using var recorder = new EventRecorder(host.Events);
        var runs = await StartAsync(host, "mon-outage", 3, """{"epoch_seconds": 0.3}""");
        await host.Api.Faults.RefuseConnectionsAsync();
        (await host.Executor.GetStatusAsync(runs[0])).IsTerminal.Should().BeFalse("during the outage the cache serves the last known state");

        await Eventually.GetAsync(
            () => Task.FromResult(runs.All(r => Json.Walk(host.Api.Store.Get(ResourceType.Jobs, "training", NameOf(r)), "status", "completionTime") is not null)),
            done => done,
            "every run to complete while the API is unreachable");
        var refused = host.Api.Requests.Count;
        await host.Api.Faults.AcceptConnectionsAsync();

        await recorder.WaitForAsync(_ => AllFinished(recorder, runs), "every run to be reported finished");
        AssertEachPhaseOnce(recorder, runs);
        foreach (var run in runs)
        {
            (await host.Executor.GetStatusAsync(run)).Phase.Should().Be(TrainingPhase.Succeeded);
        }

        host.Api.Requests.Count.Should().BeGreaterThan(refused, "the monitor reconnected");
    }

    internal static async Task<List<TrainingRun>> StartAsync(MonitorHost host, string prefix, int count, string knobs, int epochs = 3)
    {
        var runs = new List<TrainingRun>();
        for (var i = 0; i < count; i++)
        {
            runs.Add(await host.Executor.StartAsync(WorkloadHarness.Trainer($"{prefix}-{i}", knobs, epochs).Build()));
        }

        return runs;
    }

    internal static bool AllFinished(EventRecorder recorder, IEnumerable<TrainingRun> runs) =>
        runs.All(r => recorder.Phases(r.JobId).Any(e => e.Status.IsTerminal));

    internal static void AssertEachPhaseOnce(EventRecorder recorder, IEnumerable<TrainingRun> runs)
    {
        foreach (var run in runs)
        {
            // A phase event is published when the phase or its reason changes (Pending/Starting, then
            // Pending/ContainerCreating): each phase is entered once, never re-entered, and no event repeats.
            var phases = recorder.Phases(run.JobId);
            var trail = string.Join(", ", phases.Select(p => $"{p.Status.Phase}/{p.Status.Reason}#{p.Status.Attempt} exit {p.Status.ExitCode} seq {p.Sequence} '{p.Status.Message}'"));
            phases.Select(e => e.Status.Phase).Where((phase, i) => i == 0 || phases[i - 1].Status.Phase != phase)
                .Should().Equal([TrainingPhase.Pending, TrainingPhase.Running, TrainingPhase.Succeeded], $"run {run.JobId} enters each phase once ({trail})");
            phases.Select(e => (e.Status.Phase, e.Status.Reason)).Should().OnlyHaveUniqueItems($"no state is published twice ({trail})");
            phases.Count(e => e.Status.Phase == TrainingPhase.Running).Should().Be(1, trail);
            phases.Count(e => e.Status.IsTerminal).Should().Be(1, trail);
            phases.Select(e => e.Sequence).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        }
    }

    private static string NameOf(TrainingRun run) => run.ResourceId.Split('/')[1];
}
