using static VisionPlatform.Training.Tests.Subprocess.SubprocessTestContext;

namespace VisionPlatform.Training.Tests.Subprocess;

public sealed class SubprocessExitTests : IAsyncLifetime
{
    private readonly SubprocessTestContext _ctx = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _ctx.DisposeAsync();

    [Fact]
    public async Task A_training_failure_is_Failed_NonZeroExitCode_with_the_last_log_lines()
    {
        var executor = _ctx.CreateExecutor();
        var run = await executor.StartAsync(Job("job-fail", epochs: 5, new { fail_at_epoch = 2 }).Build());

        var status = await WaitTerminalAsync(executor, run);

        status.Phase.Should().Be(TrainingPhase.Failed);
        status.Reason.Should().Be(TrainingStatusReasons.NonZeroExitCode);
        status.ExitCode.Should().Be(1);
        status.Message.Should().Contain("exit code 1").And.Contain("Last log lines").And.Contain("VP_PROGRESS");
    }

    [Fact]
    public async Task A_custom_exit_code_is_reported()
    {
        var executor = _ctx.CreateExecutor();
        var run = await executor.StartAsync(Job("job-exit-7", epochs: 1, new { exit_code = 7 }).Build());

        var status = await WaitTerminalAsync(executor, run);

        status.Phase.Should().Be(TrainingPhase.Failed);
        status.Reason.Should().Be(TrainingStatusReasons.NonZeroExitCode);
        status.ExitCode.Should().Be(7);
    }

    [Fact]
    public async Task Exit_code_2_is_InvalidTrainerInput()
    {
        var executor = _ctx.CreateExecutor();
        var run = await executor.StartAsync(Job("job-bad-input", epochs: 1, new { workers = 1000 }).Build());

        var status = await WaitTerminalAsync(executor, run);

        status.Phase.Should().Be(TrainingPhase.Failed);
        status.Reason.Should().Be(TrainingStatusReasons.InvalidTrainerInput);
        status.ExitCode.Should().Be(2);
        status.Message.Should().Contain("--workers");
    }

    [Fact]
    public async Task A_trainer_killed_by_a_signal_it_raised_is_Failed_Signaled_with_128_plus_signal()
    {
        var executor = _ctx.CreateExecutor(ProbePy);
        var builder = Job("job-segv");
        builder.Environment["PROBE_SIGNAL"] = "11";
        var run = await executor.StartAsync(builder.Build());

        var status = await WaitTerminalAsync(executor, run);

        status.Phase.Should().Be(TrainingPhase.Failed);
        status.Reason.Should().Be(TrainingStatusReasons.Signaled);
        status.ExitCode.Should().Be(128 + 11);
        status.Message.Should().Contain("SIGSEGV");
    }

    [Fact]
    public async Task A_trainer_killed_from_outside_is_Failed_Signaled_not_Stopped()
    {
        var executor = _ctx.CreateExecutor(ProbePy);
        var builder = Job("job-killed");
        builder.Environment["PROBE_SLEEP"] = "60";
        var run = await executor.StartAsync(builder.Build());
        await WaitForAsync(executor, run, s => s.Phase == TrainingPhase.Running);
        var pid = _ctx.ReadPid(run)!.Value;

        Kill(await WaitForTrainerPidAsync(pid), 9);
        var status = await WaitTerminalAsync(executor, run);

        status.Phase.Should().Be(TrainingPhase.Failed);
        status.Reason.Should().Be(TrainingStatusReasons.Signaled);
        status.ExitCode.Should().Be(137);
    }

    [Fact]
    public async Task Watch_yields_each_change_until_terminal()
    {
        var executor = _ctx.CreateExecutor();
        var run = await executor.StartAsync(Job("job-watch", epochs: 3, new { epoch_seconds = 0.2 }).Build());

        var seen = new List<TrainingRunStatus>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await foreach (var status in executor.WatchAsync(run, cts.Token))
        {
            seen.Add(status);
        }

        seen.Should().NotBeEmpty();
        seen[^1].Phase.Should().Be(TrainingPhase.Succeeded);
        seen.Take(seen.Count - 1).Should().OnlyContain(s => !s.IsTerminal);
        seen.Select(s => s.Phase).Should().Contain(TrainingPhase.Running);
        seen.Should().OnlyHaveUniqueItems();
    }

    [Fact]
    public async Task Availability_names_the_key_to_fix_and_a_missing_interpreter_fails_the_start_before_anything_is_created()
    {
        var options = _ctx.NewOptions();
        options.Subprocess.Interpreter = "/nonexistent/bin/python-" + Guid.NewGuid().ToString("N");
        var executor = _ctx.CreateExecutor(options);

        var availability = await executor.CheckAvailabilityAsync();
        var start = () => executor.StartAsync(Job("job-no-python").Build());

        availability.IsAvailable.Should().BeFalse();
        availability.Reason.Should().Contain("Training:Subprocess:Interpreter");
        (await start.Should().ThrowAsync<TrainingException>()).Which.Code.Should().Be(TrainingErrorCode.ExecutorUnavailable);
        Directory.EnumerateDirectories(_ctx.RunsDirectory).Should().BeEmpty();

        var good = _ctx.CreateExecutor();
        (await good.CheckAvailabilityAsync()).IsAvailable.Should().BeTrue();

        var blocked = _ctx.NewOptions();
        var file = Path.Combine(_ctx.Root, "a-file");
        await File.WriteAllTextAsync(file, "x");
        blocked.Subprocess.RunsDirectory = file;
        // A runs directory that is not a directory of the host's own is refused when the executor is created.
        var refused = () => _ctx.CreateExecutor(blocked);
        refused.Should().Throw<TrainingException>().Which.Message.Should().Contain("Training:Subprocess:RunsDirectory");
    }
}
