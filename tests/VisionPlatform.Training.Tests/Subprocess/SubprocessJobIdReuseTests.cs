using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using VisionPlatform.Training.Subprocess;
using VisionPlatform.Training.Trainers;
using static VisionPlatform.Training.Tests.Subprocess.SubprocessTestContext;

namespace VisionPlatform.Training.Tests.Subprocess;

/// <summary>
/// The shared rule for a job id used before: it names its run, whatever the phase, as long as the run directory is
/// kept; once the directory is gone (retention or by hand) the id starts a new run.
/// </summary>
public sealed class SubprocessJobIdReuseTests : IAsyncLifetime
{
    private readonly SubprocessTestContext _ctx = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _ctx.DisposeAsync();

    [Theory]
    [InlineData("0", TrainingPhase.Succeeded)]
    [InlineData("3", TrainingPhase.Failed)]
    [InlineData("stop", TrainingPhase.Stopped)]
    public async Task A_finished_run_answers_a_repeat_start_with_the_same_config_and_refuses_a_different_one(string outcome, TrainingPhase phase)
    {
        var launches = Path.Combine(_ctx.Root, "launches.txt");
        var executor = _ctx.CreateExecutor(ProbePy);
        var job = Job($"job-reuse-{outcome}");
        job.Environment["PROBE_APPEND"] = launches;
        job.Environment["PROBE_SLEEP"] = outcome == "stop" ? "60" : "0";
        job.Environment["PROBE_EXIT"] = outcome == "stop" ? "0" : outcome;
        var config = job.Build();

        var run = await executor.StartAsync(config);
        if (outcome == "stop")
        {
            await PollAsync(() => File.Exists(launches) ? launches : null, what: "the trainer's start");
            await executor.StopAsync(run, new TrainingStopOptions { GracePeriod = TimeSpan.FromSeconds(5) });
        }

        var ended = await WaitTerminalAsync(executor, run);
        ended.Phase.Should().Be(phase);

        (await executor.StartAsync(config)).Should().Be(run);
        (await executor.GetStatusAsync(run)).Should().BeEquivalentTo(ended, o => o.Excluding(s => s.Progress).Excluding(s => s.Cost));
        (await File.ReadAllLinesAsync(launches)).Should().ContainSingle("a repeat start never runs the job again");

        var changed = config.ToBuilder();
        changed.Epochs = 7;
        var conflict = await FluentActions.Awaiting(() => executor.StartAsync(changed.Build())).Should().ThrowAsync<TrainingException>();
        conflict.Which.Code.Should().Be(TrainingErrorCode.JobConflict);
        conflict.Which.Message.Should().Contain("RunRetention");

        // A new executor (a host restart) applies the same rule from state.json.
        var next = _ctx.CreateExecutor(ProbePy);
        (await next.StartAsync(config)).Should().Be(run);
        (await FluentActions.Awaiting(() => next.StartAsync(changed.Build())).Should().ThrowAsync<TrainingException>()).Which.Code.Should().Be(TrainingErrorCode.JobConflict);
    }

    [Fact]
    public async Task A_run_directory_removed_by_hand_frees_the_job_id()
    {
        var launches = Path.Combine(_ctx.Root, "launches.txt");
        var executor = _ctx.CreateExecutor(ProbePy);
        var job = Job("job-removed-by-hand");
        job.Environment["PROBE_APPEND"] = launches;
        var run = await executor.StartAsync(job.Build());
        var first = await WaitTerminalAsync(executor, run);

        Directory.Delete(_ctx.RunDirectory(run), recursive: true);
        var changed = job.Build().ToBuilder();
        changed.Epochs = 9;
        var again = await executor.StartAsync(changed.Build());

        again.Should().Be(run, "the handle is derived from the job id");
        (await executor.GetStatusAsync(again)).CreatedAt.Should().BeAfter(first.CreatedAt!.Value, "it is a new run");
        (await WaitTerminalAsync(executor, again)).Phase.Should().Be(TrainingPhase.Succeeded);
        (await File.ReadAllLinesAsync(launches)).Should().HaveCount(2, "the id started a new run");
    }

    [Fact]
    public async Task A_finished_run_is_kept_for_RunRetention_and_then_its_id_starts_a_new_run()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var launches = Path.Combine(_ctx.Root, "launches.txt");
        var options = _ctx.NewOptions(ProbePy);
        options.Subprocess.RunRetention = TimeSpan.FromDays(7);
        var executor = CreateExecutor(options, time);
        var job = Job("job-retained");
        job.Environment["PROBE_APPEND"] = launches;
        var config = job.Build();
        var run = await executor.StartAsync(config);
        await WaitTerminalAsync(executor, run);
        var changed = config.ToBuilder();
        changed.Epochs = 5;

        time.Advance(TimeSpan.FromDays(7) - TimeSpan.FromSeconds(1));
        (await executor.StartAsync(config)).Should().Be(run);
        await FluentActions.Awaiting(() => executor.StartAsync(changed.Build())).Should().ThrowAsync<TrainingException>();
        (await executor.GetStatusAsync(run)).Phase.Should().Be(TrainingPhase.Succeeded);

        time.Advance(TimeSpan.FromSeconds(1));
        (await executor.GetStatusAsync(run)).Phase.Should().Be(TrainingPhase.NotFound, "the record is gone once its retention ended");
        (await executor.FindAsync("job-retained")).Should().BeNull();
        (await executor.ListAsync()).Should().BeEmpty();

        var again = await executor.StartAsync(changed.Build());
        (await WaitTerminalAsync(executor, again)).Phase.Should().Be(TrainingPhase.Succeeded);
        (await File.ReadAllLinesAsync(launches)).Should().HaveCount(2);
        (await executor.ListAsync()).Should().ContainSingle().Which.Run.Should().Be(again);
        Directory.EnumerateFileSystemEntries(_ctx.RunsDirectory).Should().ContainSingle("the old directory was removed, not kept beside the new one");
    }

    [Fact]
    public async Task Expired_runs_are_removed_at_start_up_and_while_the_host_runs()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var options = _ctx.NewOptions(ProbePy);
        options.Subprocess.RunRetention = TimeSpan.FromHours(1);
        var first = CreateExecutor(options, time);
        var old = await first.StartAsync(Job("job-old").Build());
        await WaitTerminalAsync(first, old);
        await first.DisposeAsync();

        time.Advance(TimeSpan.FromMinutes(30));
        var second = CreateExecutor(options, time);
        var younger = await second.StartAsync(Job("job-younger").Build());
        await WaitTerminalAsync(second, younger);
        await second.DisposeAsync();

        // Start-up: the old run's hour is over, the younger one's is not.
        time.Advance(TimeSpan.FromMinutes(31));
        var third = CreateExecutor(options, time);
        third.Recover();
        Directory.Exists(_ctx.RunDirectory(old)).Should().BeFalse();
        Directory.Exists(_ctx.RunDirectory(younger)).Should().BeTrue();

        // While the host runs: the poll loop sweeps, without any call.
        time.Advance(TimeSpan.FromMinutes(30));
        await PollAsync(
            () =>
            {
                // Keep the clock moving: the poll loop may not have been waiting yet when the clock jumped.
                time.Advance(TimeSpan.FromSeconds(1));
                return Directory.Exists(_ctx.RunDirectory(younger)) ? null : "removed";
            },
            TimeSpan.FromSeconds(30),
            "the sweep");
        Directory.EnumerateFileSystemEntries(_ctx.RunsDirectory).Should().BeEmpty();
    }

    [Fact]
    public async Task Runs_that_have_not_ended_are_never_removed()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var options = _ctx.NewOptions(ProbePy, maxConcurrentRuns: 1);
        options.Subprocess.RunRetention = TimeSpan.FromMinutes(1);
        var executor = CreateExecutor(options, time);
        var running = Job("job-long");
        running.Environment["PROBE_SLEEP"] = "60";
        var live = await executor.StartAsync(running.Build());
        var queued = await executor.StartAsync(Job("job-queued").Build());
        await WaitForAsync(executor, live, s => s.Phase == TrainingPhase.Running);

        time.Advance(TimeSpan.FromDays(30));
        executor.Recover();
        (await executor.ListAsync()).Should().HaveCount(2);

        (await executor.GetStatusAsync(live)).Phase.Should().Be(TrainingPhase.Running);
        (await executor.GetStatusAsync(queued)).Phase.Should().Be(TrainingPhase.Pending);
    }

    [Theory]
    [InlineData("00:00:00")]
    [InlineData("-00:00:01")]
    public void RunRetention_must_be_greater_than_zero(string value)
    {
        var options = new TrainingOptions { DefaultExecutor = "subprocess" };
        options.Subprocess.RunRetention = TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture);

        var result = new TrainingOptionsValidator("Training").Validate(null, options);

        result.Failures.Should().ContainSingle(f => f.StartsWith("Training:Subprocess:RunRetention is ", StringComparison.Ordinal));
        new SubprocessExecutorOptions().RunRetention.Should().Be(TimeSpan.FromDays(7));
    }

    private SubprocessTrainingExecutor CreateExecutor(TrainingOptions options, TimeProvider time) =>
        _ctx.Track(new SubprocessTrainingExecutor(Options.Create(options), new FlagTrainerContract(), time));
}
