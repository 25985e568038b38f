namespace VisionPlatform.Training.Testing;

/// <summary>Start, status, failure, stop, unknown runs and logs.</summary>
public static partial class ExecutorConformanceSuite
{
    private static IEnumerable<ExecutorConformanceCase> LifecycleCases()
    {
        yield return Case(
            "Start_returns_a_run_naming_the_executor_and_job",
            "StartAsync returns a handle with the executor's name, the job id and a resource id, and the handle round-trips through its string form.",
            async s =>
            {
                var run = await s.StartAsync(s.Job("conformance-start")).ConfigureAwait(false);
                s.Check(string.Equals(run.ExecutorName, s.Executor.Name, StringComparison.OrdinalIgnoreCase), $"the run names executor '{run.ExecutorName}', not '{s.Executor.Name}'");
                s.Check(run.JobId == "conformance-start", $"the run names job '{run.JobId}', not 'conformance-start'");
                s.Check(!string.IsNullOrWhiteSpace(run.ResourceId), "the run has no resource id");
                s.Check(TrainingRun.Parse(run.ToString()) == run, $"the handle '{run}' does not parse back to itself");
                var status = await s.StatusAsync(run).ConfigureAwait(false);
                s.Check(status.Run == run, $"GetStatusAsync answers for '{status.Run}', not '{run}'");
                s.Check(status.Phase is TrainingPhase.Pending or TrainingPhase.Running or TrainingPhase.Succeeded, $"a run that was just started is {ConformanceSession.Describe(status)}");
                await s.WaitTerminalAsync(run).ConfigureAwait(false);
            });

        yield return Case(
            "Status_goes_from_pending_or_running_to_succeeded_with_exit_code_0",
            "A trainer that exits 0 makes the run Succeeded (Completed) with exit code 0 and its created, started and finished times in order.",
            async s =>
            {
                var run = await s.StartAsync(s.Job("conformance-succeeds")).ConfigureAwait(false);
                var statuses = await s.WatchAllAsync(run).ConfigureAwait(false);
                CheckPhaseOrder(s, statuses);
                var final = await s.StatusAsync(run).ConfigureAwait(false);
                s.CheckStatus(final, TrainingPhase.Succeeded, TrainingStatusReasons.Completed, "the finished run");
                s.Check(final.ExitCode == 0, $"the succeeded run has exit code {final.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}, not 0");
                s.Check(final.CreatedAt is not null && final.StartedAt is not null && final.FinishedAt is not null, $"the succeeded run lacks a time: created {final.CreatedAt}, started {final.StartedAt}, finished {final.FinishedAt}");
                s.Check(final.CreatedAt <= final.StartedAt && final.StartedAt <= final.FinishedAt, $"the times are out of order: created {final.CreatedAt:O}, started {final.StartedAt:O}, finished {final.FinishedAt:O}");
            });

        yield return Case(
            "Failing_trainer_ends_failed_with_its_exit_code",
            "A trainer that exits with a non-zero code (not 2) makes the run Failed (NonZeroExitCode) with that exit code and a finish time.",
            async s =>
            {
                var run = await s.StartAsync(s.Job(new ConformanceJobRequest { JobId = "conformance-fails", Behavior = ConformanceJobBehavior.Fail, ExitCode = 3 })).ConfigureAwait(false);
                var final = await s.WaitTerminalAsync(run).ConfigureAwait(false);
                s.CheckStatus(final, TrainingPhase.Failed, TrainingStatusReasons.NonZeroExitCode, "the failed run");
                s.Check(final.ExitCode == 3, $"the failed run has exit code {final.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}, not 3");
                s.Check(final.FinishedAt is not null, "the failed run has no finish time");
            });

        yield return Case(
            "Stop_is_idempotent_and_ends_stopped_by_user",
            "StopAsync of a running run answers Stopped (StoppedByUser); a second stop answers the same; the run stays findable and listed with that status.",
            async s =>
            {
                var run = await s.StartAsync(s.Job("conformance-stop", ConformanceJobBehavior.RunUntilStopped)).ConfigureAwait(false);
                await s.WaitRunningAsync(run).ConfigureAwait(false);
                var stopped = await s.StopAsync(run).ConfigureAwait(false);
                s.CheckStatus(stopped, TrainingPhase.Stopped, TrainingStatusReasons.StoppedByUser, "StopAsync of a running run");
                s.Check(stopped.FinishedAt is not null, "the stopped run has no finish time");
                var again = await s.StopAsync(run).ConfigureAwait(false);
                s.CheckStatus(again, TrainingPhase.Stopped, TrainingStatusReasons.StoppedByUser, "a second StopAsync");
                s.CheckStatus(await s.StatusAsync(run).ConfigureAwait(false), TrainingPhase.Stopped, TrainingStatusReasons.StoppedByUser, "GetStatusAsync after the stop");
                var watched = await s.WatchAllAsync(run).ConfigureAwait(false);
                s.Check(watched.Count > 0 && watched[^1].Phase == TrainingPhase.Stopped, $"WatchAsync of the stopped run yielded {ConformanceSession.Describe(watched)}, not ending with Stopped");
                s.Check(await s.Executor.FindAsync(run.JobId, s.CancellationToken).ConfigureAwait(false) == run, "FindAsync no longer finds the stopped run: a stop must keep the run's record");
                var listed = await s.ListAsync(TrainingRunQuery.All).ConfigureAwait(false);
                s.Check(listed.Any(l => l.Run == run && l.Phase == TrainingPhase.Stopped), "ListAsync does not list the stopped run as Stopped");
            });

        yield return Case(
            "Stop_of_a_finished_run_leaves_it_unchanged",
            "StopAsync of a run that already succeeded answers its terminal status and changes nothing.",
            async s =>
            {
                var run = await s.StartAsync(s.Job("conformance-stop-finished")).ConfigureAwait(false);
                var final = await s.WaitTerminalAsync(run).ConfigureAwait(false);
                s.CheckStatus(final, TrainingPhase.Succeeded, TrainingStatusReasons.Completed, "the finished run");
                var stopped = await s.StopAsync(run).ConfigureAwait(false);
                s.CheckStatus(stopped, TrainingPhase.Succeeded, TrainingStatusReasons.Completed, "StopAsync of a succeeded run");
                s.Check(stopped.ExitCode == 0, "StopAsync changed the succeeded run's exit code");
            });

        yield return Case(
            "Unknown_run_reports_not_found",
            "Status, watch and stop of a run the executor never had answer NotFound without throwing; logs throw RunNotFound; FindAsync answers null.",
            async s =>
            {
                foreach (var unknown in new[] { new TrainingRun(s.Executor.Name, "conformance-unknown", "conformance-unknown"), new TrainingRun("conformance-other-executor", "conformance-unknown", "conformance-unknown") })
                {
                    var status = await s.StatusAsync(unknown).ConfigureAwait(false);
                    s.CheckStatus(status, TrainingPhase.NotFound, TrainingStatusReasons.NotFound, $"GetStatusAsync of the unknown run '{unknown}'");
                    var watched = await s.WatchAllAsync(unknown).ConfigureAwait(false);
                    s.Check(watched.Count == 1 && watched[0].Phase == TrainingPhase.NotFound, $"WatchAsync of the unknown run '{unknown}' yielded {ConformanceSession.Describe(watched)}, not one NotFound status");
                    var stopped = await s.StopAsync(unknown).ConfigureAwait(false);
                    s.Check(stopped.Phase == TrainingPhase.NotFound, $"StopAsync of the unknown run '{unknown}' answered {ConformanceSession.Describe(stopped)}, not NotFound");
                    var error = await s.ThrowsAsync<TrainingException>(() => s.LogsAsync(unknown), $"GetLogsAsync of the unknown run '{unknown}'").ConfigureAwait(false);
                    s.Check(error.Code == TrainingErrorCode.RunNotFound, $"GetLogsAsync of the unknown run threw code {error.Code}, not RunNotFound");
                }

                s.Check(await s.Executor.FindAsync("conformance-unknown", s.CancellationToken).ConfigureAwait(false) is null, "FindAsync of an unknown job id did not answer null");
            });

        yield return Case(
            "Logs_contain_the_trainers_lines_in_order_with_tail_and_since",
            "The log holds the trainer's progress lines in epoch order; TailLines gives the last lines; Since drops older lines; Follow on a finished run ends.",
            async s =>
            {
                var run = await s.StartAsync(s.Job(new ConformanceJobRequest { JobId = "conformance-logs", ProgressEpochs = 3 })).ConfigureAwait(false);
                s.CheckStatus(await s.WaitTerminalAsync(run).ConfigureAwait(false), TrainingPhase.Succeeded, TrainingStatusReasons.Completed, "the run");
                var all = await s.LogsAsync(run, new TrainingLogOptions { Timestamps = true }).ConfigureAwait(false);
                var epochs = all.Select(l => TrainingProgressProtocol.TryParse(l.Text, null, out var p) ? p.Epoch : (int?)null).OfType<int>().ToArray();
                s.Check(epochs.SequenceEqual([1, 2, 3]), $"the log's progress lines report epochs [{string.Join(", ", epochs)}], not [1, 2, 3] in order");
                s.Check(all.All(l => l.Timestamp is not null), "a line read with Timestamps = true has no timestamp");
                var plain = await s.LogsAsync(run).ConfigureAwait(false);
                s.Check(plain.Select(l => l.Text).SequenceEqual(all.Select(l => l.Text)), "the log read twice differs");
                s.Check(plain.All(l => l.Timestamp is null), "a line read without Timestamps has a timestamp");

                var tail = await s.LogsAsync(run, new TrainingLogOptions { TailLines = 2 }).ConfigureAwait(false);
                s.Check(tail.Select(l => l.Text).SequenceEqual(all.Skip(all.Count - 2).Select(l => l.Text)), $"TailLines = 2 gave [{string.Join(" | ", tail.Select(l => l.Text))}], not the last two lines");

                var pivot = all.Where(l => TrainingProgressProtocol.TryParse(l.Text, null, out _)).Last();
                var since = await s.LogsAsync(run, new TrainingLogOptions { Since = pivot.Timestamp, Timestamps = true }).ConfigureAwait(false);
                s.Check(since.Count > 0 && since.All(l => l.Timestamp >= pivot.Timestamp), "Since returned lines older than the given time, or none");
                s.Check(since.Select(l => l.Text).SequenceEqual(all.Skip(all.Count - since.Count).Select(l => l.Text)), "Since did not return a suffix of the log");
                s.Check(since.Any(l => l.Text == pivot.Text), "Since left out the line written at the given time");
                var future = await s.LogsAsync(run, new TrainingLogOptions { Since = all[^1].Timestamp!.Value.AddHours(1) }).ConfigureAwait(false);
                s.Check(future.Count == 0, $"Since an hour after the last line returned {future.Count} line(s)");

                var followed = await s.LogsAsync(run, new TrainingLogOptions { Follow = true }).ConfigureAwait(false);
                s.Check(followed.Select(l => l.Text).SequenceEqual(plain.Select(l => l.Text)), "Follow on a finished run did not return the whole log");
            });
    }

    private static void CheckPhaseOrder(ConformanceSession s, List<TrainingRunStatus> statuses)
    {
        s.Check(statuses.Count > 0, "WatchAsync yielded nothing");
        s.Check(statuses[^1].IsTerminal, $"WatchAsync ended without a terminal status: {ConformanceSession.Describe(statuses)}");
        s.Check(statuses.Take(statuses.Count - 1).All(x => !x.IsTerminal), $"WatchAsync went on after a terminal status: {ConformanceSession.Describe(statuses)}");
        for (var i = 1; i < statuses.Count; i++)
        {
            s.Check(!Equals(statuses[i], statuses[i - 1]), $"WatchAsync yielded the same status twice in a row: {ConformanceSession.Describe(statuses)}");
            s.Check(Rank(statuses[i].Phase) >= Rank(statuses[i - 1].Phase), $"the phase went backwards: {ConformanceSession.Describe(statuses)}");
        }

        static int Rank(TrainingPhase phase) => phase switch
        {
            TrainingPhase.Pending => 0,
            TrainingPhase.Running => 1,
            _ => 2,
        };
    }
}
