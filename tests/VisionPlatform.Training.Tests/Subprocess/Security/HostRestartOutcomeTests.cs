using VisionPlatform.Training.Subprocess.Native;
using static VisionPlatform.Training.Tests.Subprocess.SubprocessTestContext;

namespace VisionPlatform.Training.Tests.Subprocess.Security;

/// <summary>
/// Issue 13, finding 8: a run that ends while no host watches it is reported with its real outcome. Each executor is
/// created in a process-host scope of its own, so it knows none of the children the other one launched, exactly as the
/// host of a new OS process would not (within one OS process the exit of a child is otherwise observed process-wide).
/// </summary>
public sealed class HostRestartOutcomeTests : IAsyncLifetime
{
    private readonly SubprocessTestContext _ctx = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _ctx.DisposeAsync();

    [Theory]
    [InlineData(0, TrainingPhase.Succeeded)]
    [InlineData(3, TrainingPhase.Failed)]
    public async Task A_run_that_finishes_while_no_host_watches_is_reported_with_its_real_exit_code(int exitCode, TrainingPhase phase)
    {
        var (run, pid) = await StartAndAbandonAsync("job-unwatched-" + exitCode, exitCode, sleepSeconds: 1.5);

        // The run keeps going without its host and ends.
        await PollAsync(() => IsAlive(pid) ? null : "", TimeSpan.FromSeconds(60), "the run to end");

        using (ProcessHosts.BeginNewHostScope())
        {
            var later = _ctx.CreateExecutor(ProbePy);
            var status = await later.GetStatusAsync(run);

            status.Phase.Should().Be(phase, status.Message);
            status.ExitCode.Should().Be(exitCode);
            status.Reason.Should().Be(exitCode == 0 ? TrainingStatusReasons.Completed : TrainingStatusReasons.NonZeroExitCode);
        }
    }

    [Fact]
    public async Task A_reattached_run_that_ends_later_is_reported_with_its_real_exit_code()
    {
        var (run, _) = await StartAndAbandonAsync("job-reattached", exitCode: 0, sleepSeconds: 4);

        using (ProcessHosts.BeginNewHostScope())
        {
            var next = _ctx.CreateExecutor(ProbePy);
            (await next.GetStatusAsync(run)).Phase.Should().Be(TrainingPhase.Running, "the run outlived its host");

            var status = await WaitTerminalAsync(next, run);

            status.Phase.Should().Be(TrainingPhase.Succeeded, status.Message);
            status.ExitCode.Should().Be(0);
        }
    }

    [Fact]
    public async Task A_new_host_stops_a_run_it_did_not_start_gracefully_and_records_the_exit_code()
    {
        var (run, pid) = await StartAndAbandonAsync("job-stop-after-restart", exitCode: 0, sleepSeconds: 120);
        var trainer = TrainerPid(pid);

        using (ProcessHosts.BeginNewHostScope())
        {
            var next = _ctx.CreateExecutor(ProbePy);
            var status = await next.StopAsync(run, new TrainingStopOptions { GracePeriod = TimeSpan.FromSeconds(20) });

            status.Phase.Should().Be(TrainingPhase.Stopped);
            status.Reason.Should().Be(TrainingStatusReasons.StoppedByUser);
            status.ExitCode.Should().Be(128 + 15, "SIGTERM reached the trainer within the grace period and its supervisor recorded it");
            IsAlive(trainer).Should().BeFalse();
            SessionMembers(pid).Should().BeEmpty();
        }
    }

    [Fact]
    public async Task A_new_host_kills_a_trainer_that_ignores_SIGTERM_after_the_grace_period()
    {
        var (run, pid) = await StartAndAbandonAsync("job-stubborn-after-restart", exitCode: 0, sleepSeconds: 120, ignoreTerm: true);

        using (ProcessHosts.BeginNewHostScope())
        {
            var next = _ctx.CreateExecutor(ProbePy);
            var stopping = Environment.TickCount64;
            var status = await next.StopAsync(run, new TrainingStopOptions { GracePeriod = TimeSpan.FromSeconds(1) });

            (Environment.TickCount64 - stopping).Should().BeGreaterThanOrEqualTo(900, "the grace period is honoured");
            status.Phase.Should().Be(TrainingPhase.Stopped);
            status.Reason.Should().Be(TrainingStatusReasons.StoppedByUser);
            SessionMembers(pid).Should().BeEmpty();
        }
    }

    /// <summary>Starts a run under a host of its own and disposes that host without stopping the run.</summary>
    private async Task<(TrainingRun Run, int Pid)> StartAndAbandonAsync(string jobId, int exitCode, double sleepSeconds, bool ignoreTerm = false)
    {
        using var scope = ProcessHosts.BeginNewHostScope();
        var first = _ctx.CreateExecutor(ProbePy);
        var builder = Job(jobId);
        builder.Environment["PROBE_SLEEP"] = sleepSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        builder.Environment["PROBE_EXIT"] = exitCode.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (ignoreTerm)
        {
            builder.Environment["PROBE_IGNORE_TERM"] = "1";
        }

        var run = await first.StartAsync(builder.Build());
        await WaitForAsync(first, run, s => s.Phase == TrainingPhase.Running);
        var log = Path.Combine(_ctx.RunDirectory(run), "train.log");
        await PollAsync(() => File.Exists(log) && File.ReadAllText(log).Contains("CWD", StringComparison.Ordinal) ? "" : null, TimeSpan.FromSeconds(60), "the trainer to start");
        var pid = _ctx.ReadPid(run)!.Value;
        await first.DisposeAsync();
        IsAlive(pid).Should().BeTrue("disposing the executor (its host going away) does not stop the run");
        return (run, pid);
    }
}
