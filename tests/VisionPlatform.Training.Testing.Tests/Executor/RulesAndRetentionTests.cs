namespace VisionPlatform.Training.Testing.Tests.Executor;

/// <summary>What the in-memory executor refuses, and how long it keeps a finished run's record.</summary>
public sealed class RulesAndRetentionTests
{
    private readonly Microsoft.Extensions.Time.Testing.FakeTimeProvider _clock = TestJobs.Clock();

    [Fact]
    public async Task A_job_asking_for_more_gpus_than_allowed_is_refused_naming_the_field_and_nothing_starts()
    {
        using var executor = new InMemoryTrainingExecutor(options: new InMemoryExecutorOptions { MaxGpus = 1 }, timeProvider: _clock);
        var builder = SampleJobs.YoloBuilder("job-gpus");
        builder.Resources = new TrainingResources { Gpus = 2 };

        var act = () => executor.StartAsync(builder.Build());

        var error = (await act.Should().ThrowAsync<TrainingValidationException>()).Which;
        error.Errors.Should().ContainSingle().Which.Should().BeEquivalentTo(new { Field = "Resources.Gpus", Value = "2" });
        error.Errors[0].Rule.Should().Contain("at most 1").And.Contain("InMemoryExecutorOptions.MaxGpus");
        executor.StartedJobs.Should().BeEmpty();
        builder.Resources = new TrainingResources { Gpus = 1 };
        (await executor.StartAsync(builder.Build())).JobId.Should().Be("job-gpus");
    }

    [Fact]
    public async Task A_finished_run_is_kept_for_the_retention_then_its_job_id_starts_a_new_run()
    {
        using var executor = new InMemoryTrainingExecutor(options: new InMemoryExecutorOptions { RunRetention = TimeSpan.FromMinutes(10) }, timeProvider: _clock);
        var running = await executor.StartAsync(SampleJobs.Yolo("job-running"));
        var stopped = await executor.StartAsync(SampleJobs.Yolo("job-stopped"));
        await executor.StopAsync(stopped);

        _clock.Advance(TimeSpan.FromMinutes(9));
        (await executor.StartAsync(SampleJobs.Yolo("job-stopped"))).Should().Be(stopped, "the record is kept until the retention ends");
        var conflict = () => executor.StartAsync(SampleJobs.Yolo("job-stopped", epochs: 3));
        (await conflict.Should().ThrowAsync<TrainingException>()).Which.Code.Should().Be(TrainingErrorCode.JobConflict);

        _clock.Advance(TimeSpan.FromMinutes(1));
        (await executor.GetStatusAsync(stopped)).Phase.Should().Be(TrainingPhase.NotFound);
        (await executor.FindAsync("job-stopped")).Should().BeNull();
        (await executor.ListAsync()).Select(s => s.Run).Should().Equal(running);
        var fresh = await executor.StartAsync(SampleJobs.Yolo("job-stopped", epochs: 3));
        fresh.Should().NotBe(stopped);
        (await executor.GetStatusAsync(fresh)).Phase.Should().Be(TrainingPhase.Pending);

        _clock.Advance(TimeSpan.FromDays(1));
        (await executor.GetStatusAsync(running)).Phase.Should().Be(TrainingPhase.Pending, "only finished runs expire");
    }

    [Fact]
    public async Task Automatic_runs_can_end_per_job_or_run_until_stopped()
    {
        using var executor = new InMemoryTrainingExecutor(
            options: new InMemoryExecutorOptions
            {
                AutoComplete = true,
                AutoCompleteDelay = TimeSpan.FromSeconds(1),
                AutoCompleteExitCodeFor = c => c.Labels.ContainsKey("hangs") ? null : c.Epochs,
            },
            timeProvider: _clock);
        var fails = await executor.StartAsync(SampleJobs.Yolo("job-3", epochs: 3));
        var hangs = await executor.StartAsync(SampleJobs.Yolo("job-hangs", labels: new Dictionary<string, string> { ["hangs"] = "yes" }));

        _clock.Advance(TimeSpan.FromMinutes(5));

        (await executor.GetStatusAsync(fails)).Should().BeEquivalentTo(new { Phase = TrainingPhase.Failed, ExitCode = 3 }, o => o.ExcludingMissingMembers());
        (await executor.GetStatusAsync(hangs)).Phase.Should().Be(TrainingPhase.Running);
        (await executor.StopAsync(hangs)).Reason.Should().Be(TrainingStatusReasons.StoppedByUser);
    }

    [Fact]
    public void Invalid_rule_options_are_refused_naming_the_option()
    {
        new InMemoryExecutorOptions { MaxGpus = -1, RunRetention = TimeSpan.FromSeconds(-1) }.Validate()
            .Should().SatisfyRespectively(
                e => e.Should().StartWith("InMemoryExecutorOptions.MaxGpus is -1"),
                e => e.Should().StartWith("InMemoryExecutorOptions.RunRetention is -00:00:01"));
    }
}
