namespace VisionPlatform.Training.Testing;

/// <summary>Progress and events.</summary>
public static partial class ExecutorConformanceSuite
{
    private static IEnumerable<ExecutorConformanceCase> EventCases()
    {
        yield return Case(
            "Progress_appears_on_status_and_as_events",
            "Each VP_PROGRESS line becomes a TrainingProgressEvent (epochs in order, with the total) and the run's status carries the latest progress.",
            async s =>
            {
                await using var events = s.Collect("conformance-progress");
                var run = await s.StartAsync(s.Job(new ConformanceJobRequest { JobId = "conformance-progress", ProgressEpochs = 3 })).ConfigureAwait(false);
                await WaitForTerminalEventAsync(s, events, run).ConfigureAwait(false);
                var progress = events.OfRun<TrainingProgressEvent>(run.JobId).Select(e => e.Progress).ToArray();
                s.Check(progress.Select(p => p.Epoch).SequenceEqual([1, 2, 3]), $"the progress events report epochs [{string.Join(", ", progress.Select(p => p.Epoch))}], not [1, 2, 3]");
                s.Check(progress.All(p => p.TotalEpochs == 3), "a progress event does not carry the total of 3 epochs");
                s.Check(progress.All(p => p.Metrics.Count > 0), "a progress event carries no metrics");
                var status = await s.StatusAsync(run).ConfigureAwait(false);
                s.Check(status.Progress is { Epoch: 3, TotalEpochs: 3 }, $"the finished run's status carries progress {status.Progress?.Epoch}/{status.Progress?.TotalEpochs}, not 3/3");
            });

        yield return Case(
            "Events_of_a_run_arrive_in_order_ending_with_the_terminal_phase",
            "Through SubscribeAsync a run's events have increasing sequence numbers, each phase once, progress before the terminal phase, and the terminal phase last.",
            async s =>
            {
                await using var events = s.Collect("conformance-events");
                var run = await s.StartAsync(s.Job("conformance-events")).ConfigureAwait(false);
                await WaitForTerminalEventAsync(s, events, run).ConfigureAwait(false);
                CheckRunEvents(s, events, run, TrainingPhase.Succeeded);
            });

        yield return Case(
            "Events_of_a_stopped_run_end_with_stopped",
            "Through SubscribeAsync a stopped run's events end with one Stopped (StoppedByUser) phase event, after its Running event.",
            async s =>
            {
                await using var events = s.Collect("conformance-events-stopped");
                var run = await s.StartAsync(s.Job("conformance-events-stopped", ConformanceJobBehavior.RunUntilStopped)).ConfigureAwait(false);
                await s.WaitRunningAsync(run).ConfigureAwait(false);
                await s.StopAsync(run).ConfigureAwait(false);
                var terminal = await WaitForTerminalEventAsync(s, events, run).ConfigureAwait(false);
                s.CheckStatus(terminal.Status, TrainingPhase.Stopped, TrainingStatusReasons.StoppedByUser, "the terminal phase event");
                CheckRunEvents(s, events, run, TrainingPhase.Stopped);
                s.Check(events.OfRun<TrainingPhaseChangedEvent>(run.JobId).Any(e => e.Status.Phase == TrainingPhase.Running), "no Running phase event arrived before the stop");
            });
    }

    private static async Task<TrainingPhaseChangedEvent> WaitForTerminalEventAsync(ConformanceSession s, TrainingEventCollector events, TrainingRun run)
    {
        try
        {
            return await events.WaitForTerminalAsync(run.JobId, s.Timeout, s.CancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            throw s.Failure($"no terminal phase event of job '{run.JobId}' arrived through SubscribeAsync: {e.Message}", e);
        }
    }

    private static void CheckRunEvents(ConformanceSession s, TrainingEventCollector collector, TrainingRun run, TrainingPhase terminal)
    {
        // Artifact uploads are reported after the terminal phase by design; everything else must come before it.
        var events = collector.OfRun<TrainingRunEvent>(run.JobId).Where(e => e is not TrainingArtifactUploadEvent).ToArray();
        var described = TrainingEventCollector.Describe(events);
        s.Check(events.All(e => e.Run == run), $"an event names another run than '{run}': {described}");
        for (var i = 1; i < events.Length; i++)
        {
            s.Check(events[i].Sequence > events[i - 1].Sequence, $"the sequence numbers do not increase: {described}");
        }

        var phases = events.OfType<TrainingPhaseChangedEvent>().ToArray();
        s.Check(phases.Length >= 2, $"fewer than two phase events arrived (a run is at least Pending or Running, then terminal): {described}");
        s.Check(phases[0].Status.Phase is TrainingPhase.Pending or TrainingPhase.Running, $"the first phase event is {phases[0].Status.Phase}, not Pending or Running: {described}");
        s.Check(phases.Count(p => p.Status.IsTerminal) == 1, $"not exactly one terminal phase event: {described}");
        s.Check(events[^1] is TrainingPhaseChangedEvent { Status.IsTerminal: true } last && last.Status.Phase == terminal, $"the last event is not the {terminal} phase event: {described}");
        s.Check(phases.Select(p => p.Status.Phase).Distinct().Count() == phases.Select(p => p.Status.Phase).Count(), $"a phase was published twice: {described}");
        for (var i = 1; i < phases.Length; i++)
        {
            s.Check(phases[i].PreviousPhase == phases[i - 1].Status.Phase || phases[i].Status.Phase == phases[i - 1].Status.Phase, $"phase event {phases[i].Sequence} names previous phase {phases[i].PreviousPhase}, not {phases[i - 1].Status.Phase}: {described}");
        }
    }
}
