namespace VisionPlatform.Training.Testing;

/// <summary>
/// The rule for a job id used before: a job id names one run for as long as the executor keeps its record; the same
/// config returns that run whatever its phase, a different config is <see cref="TrainingErrorCode.JobConflict"/>, and once
/// the record is gone the id is free.
/// </summary>
public static partial class ExecutorConformanceSuite
{
    private static IEnumerable<ExecutorConformanceCase> JobIdRuleCases()
    {
        yield return Case(
            "Start_with_the_same_config_returns_the_same_run",
            "Starting a job id again with the same config, one after the other or at the same time, returns the same run and starts nothing more.",
            async s =>
            {
                var config = s.Job("conformance-idempotent", ConformanceJobBehavior.RunUntilStopped);
                var first = await s.StartAsync(config).ConfigureAwait(false);
                var second = await s.StartAsync(s.Job("conformance-idempotent", ConformanceJobBehavior.RunUntilStopped), "a repeated StartAsync").ConfigureAwait(false);
                s.Check(second == first, $"a repeated start returned '{second}', not the existing run '{first}'");
                var concurrent = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => s.StartAsync(config, "a concurrent repeated StartAsync"))).ConfigureAwait(false);
                s.Check(concurrent.All(r => r == first), $"concurrent repeated starts returned [{string.Join(", ", concurrent.Select(r => r.ToString()))}], not only '{first}'");
                var listed = (await s.ListAsync(TrainingRunQuery.All).ConfigureAwait(false)).Where(l => l.Run.JobId == config.JobId).ToArray();
                s.Check(listed.Length == 1 && listed[0].Run == first, $"ListAsync shows {listed.Length} run(s) of the job, not exactly the one run");
                s.Check(!(await s.StatusAsync(first).ConfigureAwait(false)).IsTerminal, "the repeated starts ended the running run");
            });

        yield return Case(
            "Start_with_a_different_config_throws_JobConflict",
            "Starting a job id that has a run with a different config throws TrainingException with JobConflict and leaves the run as it was.",
            async s =>
            {
                var run = await s.StartAsync(s.Job("conformance-conflict", ConformanceJobBehavior.RunUntilStopped)).ConfigureAwait(false);
                await CheckConflictAsync(s, run, ConformanceJobBehavior.RunUntilStopped).ConfigureAwait(false);
                s.Check(!(await s.StatusAsync(run).ConfigureAwait(false)).IsTerminal, "the conflicting start ended the running run");
            });

        yield return Case(
            "Start_after_stop_returns_the_stopped_run",
            "Starting a stopped job id again with the same config returns the stopped run (still Stopped, StoppedByUser) and starts nothing; a different config is JobConflict.",
            s => CheckEndedRunIsReturnedAsync(s, "conformance-restart-stopped", ConformanceJobBehavior.RunUntilStopped, TrainingPhase.Stopped, TrainingStatusReasons.StoppedByUser));

        yield return Case(
            "Start_after_success_returns_the_succeeded_run",
            "Starting a succeeded job id again with the same config returns the succeeded run unchanged; a different config is JobConflict.",
            s => CheckEndedRunIsReturnedAsync(s, "conformance-restart-succeeded", ConformanceJobBehavior.Succeed, TrainingPhase.Succeeded, TrainingStatusReasons.Completed));

        yield return Case(
            "Start_after_failure_returns_the_failed_run",
            "Starting a failed job id again with the same config returns the failed run unchanged; a different config is JobConflict.",
            s => CheckEndedRunIsReturnedAsync(s, "conformance-restart-failed", ConformanceJobBehavior.Fail, TrainingPhase.Failed, TrainingStatusReasons.NonZeroExitCode));

        yield return Case(
            "Start_after_the_record_expired_creates_a_new_run",
            "Once a finished run's record is gone (its retention ended), the old handle is NotFound and starting the job id, with any config, creates a new run.",
            async s =>
            {
                var config = s.Job("conformance-expired");
                var old = await s.StartAsync(config).ConfigureAwait(false);
                var ended = await s.WaitTerminalAsync(old).ConfigureAwait(false);
                await s.Harness.ExpireRunAsync(old, s.CancellationToken).ConfigureAwait(false);
                var gone = await s.StatusAsync(old).ConfigureAwait(false);
                s.Check(gone.Phase == TrainingPhase.NotFound, $"after its record expired the old run answers {ConformanceSession.Describe(gone)}, not NotFound");
                s.Check(await s.Executor.FindAsync(config.JobId, s.CancellationToken).ConfigureAwait(false) is null, "after its record expired FindAsync still finds the old run");

                var changed = s.Job("conformance-expired", variant: 1);
                var fresh = await s.StartAsync(changed, "StartAsync after the record expired (a different config must not conflict)").ConfigureAwait(false);
                var status = await s.StatusAsync(fresh).ConfigureAwait(false);
                s.Check(status.CreatedAt is null || ended.FinishedAt is null || status.CreatedAt >= ended.FinishedAt, $"the new run was created at {status.CreatedAt:O}, before the old one finished ({ended.FinishedAt:O}): it is not a new run");
                var final = await s.WaitTerminalAsync(fresh).ConfigureAwait(false);
                s.CheckStatus(final, TrainingPhase.Succeeded, TrainingStatusReasons.Completed, "the new run");
                s.Check(await s.Executor.FindAsync(config.JobId, s.CancellationToken).ConfigureAwait(false) == fresh, "FindAsync does not find the new run");
                var conflict = await s.ThrowsAsync<TrainingException>(() => s.Executor.StartAsync(config, s.CancellationToken), "StartAsync with the expired run's config while the new run's record exists").ConfigureAwait(false);
                s.Check(conflict.Code == TrainingErrorCode.JobConflict, $"StartAsync with the expired run's config threw {conflict.Code}, not JobConflict (the new run's config differs)");
            },
            ExecutorConformanceCapabilities.ExpireRecords);
    }

    private static async Task CheckEndedRunIsReturnedAsync(ConformanceSession s, string jobId, ConformanceJobBehavior behavior, TrainingPhase phase, string reason)
    {
        var run = await s.StartAsync(s.Job(jobId, behavior)).ConfigureAwait(false);
        if (behavior == ConformanceJobBehavior.RunUntilStopped)
        {
            await s.WaitRunningAsync(run).ConfigureAwait(false);
            await s.StopAsync(run).ConfigureAwait(false);
        }

        var ended = await s.WaitTerminalAsync(run).ConfigureAwait(false);
        s.CheckStatus(ended, phase, reason, "the ended run");
        var again = await s.StartAsync(s.Job(jobId, behavior), $"StartAsync of the {phase} job with the same config").ConfigureAwait(false);
        s.Check(again == run, $"starting the {phase} job again returned '{again}', not the {phase} run '{run}'");
        var status = await s.StatusAsync(run).ConfigureAwait(false);
        s.CheckStatus(status, phase, reason, $"the {phase} run after the repeated start");
        s.Check(status.FinishedAt == ended.FinishedAt && status.ExitCode == ended.ExitCode, $"the repeated start changed the {phase} run: finished {ended.FinishedAt:O} -> {status.FinishedAt:O}, exit code {ended.ExitCode} -> {status.ExitCode}");
        var listed = (await s.ListAsync(TrainingRunQuery.All).ConfigureAwait(false)).Where(l => l.Run.JobId == jobId).ToArray();
        s.Check(listed.Length == 1 && listed[0].Phase == phase, $"ListAsync shows {listed.Length} run(s) of the job after the repeated start, not the one {phase} run");
        await CheckConflictAsync(s, run, behavior).ConfigureAwait(false);
    }

    private static async Task CheckConflictAsync(ConformanceSession s, TrainingRun run, ConformanceJobBehavior behavior)
    {
        var before = await s.StatusAsync(run).ConfigureAwait(false);
        var different = s.Job(run.JobId, behavior, variant: 1);
        var error = await s.ThrowsAsync<TrainingException>(() => s.Executor.StartAsync(different, s.CancellationToken), $"StartAsync of job '{run.JobId}' with a different config").ConfigureAwait(false);
        s.Check(error.Code == TrainingErrorCode.JobConflict, $"StartAsync with a different config threw {error.GetType().Name} with code {error.Code}, not JobConflict: {error.Message}");
        s.Check(error is not TrainingValidationException, "StartAsync with a different config threw a validation error, not JobConflict");
        var after = await s.StatusAsync(run).ConfigureAwait(false);
        s.Check(after.Run == run && (after.Phase == before.Phase || !before.IsTerminal), $"the conflicting start changed the run: {ConformanceSession.Describe(before)} -> {ConformanceSession.Describe(after)}");
        s.Check(await s.Executor.FindAsync(run.JobId, s.CancellationToken).ConfigureAwait(false) == run, "after the conflicting start FindAsync does not find the original run");
    }
}
