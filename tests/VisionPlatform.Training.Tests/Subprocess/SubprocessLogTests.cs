using static VisionPlatform.Training.Tests.Subprocess.SubprocessTestContext;

namespace VisionPlatform.Training.Tests.Subprocess;

public sealed class SubprocessLogTests : IAsyncLifetime
{
    private readonly SubprocessTestContext _ctx = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _ctx.DisposeAsync();

    [Fact]
    public void A_node_rank_other_than_0_is_refused_naming_the_rule()
    {
        var executor = _ctx.CreateExecutor();

        var act = () => executor.GetLogsAsync(new TrainingRun("subprocess", "job-any", "job-any"), new TrainingLogOptions { NodeRank = 1 });

        act.Should().Throw<TrainingValidationException>().Which.Errors.Single().ToString().Should().Be(
            "NodeRank: value '1' is invalid: must be 0 on the subprocess executor: its runs have one node, whose log holds every rank's lines");
    }

    [Fact]
    public async Task Follow_streams_lines_while_the_trainer_runs_and_ends_when_it_has_exited_and_the_log_is_drained()
    {
        var executor = _ctx.CreateExecutor();
        var run = await executor.StartAsync(Job("job-follow", epochs: 6, new { epoch_seconds = 0.4, log_lines_per_epoch = 2 }).Build());

        var lines = new List<(string Text, TrainingPhase PhaseWhenSeen)>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await foreach (var line in executor.GetLogsAsync(run, new TrainingLogOptions { Follow = true }, cts.Token))
        {
            lines.Add((line.Text, (await executor.GetStatusAsync(run)).Phase));
        }

        var status = await executor.GetStatusAsync(run);
        status.Phase.Should().Be(TrainingPhase.Succeeded, "following ends only after the trainer has exited");
        lines.Where(l => l.Text.StartsWith("VP_PROGRESS ", StringComparison.Ordinal)).Should().HaveCount(6);
        lines.Should().Contain(l => l.PhaseWhenSeen == TrainingPhase.Running, "lines arrive while the trainer runs");
        lines.Select(l => l.Text).Should().Equal(await ReadLogAsync(executor, run), "following yields the whole log, in order, once");
    }

    [Fact]
    public async Task Follow_of_a_queued_run_waits_for_it_to_start()
    {
        var executor = _ctx.CreateExecutor(maxConcurrentRuns: 1);
        var first = await executor.StartAsync(Job("job-a", epochs: 2, new { epoch_seconds = 0.3 }).Build());
        var second = await executor.StartAsync(Job("job-b", epochs: 1).Build());
        (await executor.GetStatusAsync(second)).Phase.Should().Be(TrainingPhase.Pending);

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var lines = new List<string>();
        await foreach (var line in executor.GetLogsAsync(second, new TrainingLogOptions { Follow = true }, cts.Token))
        {
            lines.Add(line.Text);
        }

        lines.Should().Contain(l => l.StartsWith("VP_PROGRESS ", StringComparison.Ordinal));
        (await executor.GetStatusAsync(first)).Phase.Should().Be(TrainingPhase.Succeeded);
    }

    [Fact]
    public async Task Tail_timestamps_and_since_select_lines_by_position_and_time()
    {
        var executor = _ctx.CreateExecutor();
        // Timestamps come from polling the log file, so epochs are far enough apart that a poll loop delayed by a loaded
        // machine still stamps the first and the last progress line more than a second apart.
        var run = await executor.StartAsync(Job("job-times", epochs: 4, new { epoch_seconds = 1.0 }).Build());
        var final = await WaitTerminalAsync(executor, run);
        final.Phase.Should().Be(TrainingPhase.Succeeded);
        var all = await ReadLogAsync(executor, run);

        var tail = await ReadLogAsync(executor, run, new TrainingLogOptions { TailLines = 3 });
        tail.Should().Equal(all.TakeLast(3));
        (await ReadLogAsync(executor, run, new TrainingLogOptions { TailLines = 0 })).Should().BeEmpty();
        (await ReadLogAsync(executor, run, new TrainingLogOptions { TailLines = 100_000 })).Should().Equal(all);

        var timed = new List<TrainingLogLine>();
        await foreach (var line in executor.GetLogsAsync(run, new TrainingLogOptions { Timestamps = true }))
        {
            timed.Add(line);
        }

        timed.Select(l => l.Text).Should().Equal(all);
        timed.Should().OnlyContain(l => l.Timestamp != null);
        timed.Select(l => l.Timestamp!.Value).Should().BeInAscendingOrder();
        timed[0].Timestamp.Should().BeOnOrAfter(final.StartedAt!.Value.AddSeconds(-1));
        timed[^1].Timestamp.Should().BeOnOrBefore(final.FinishedAt!.Value.AddSeconds(1));
        var progress = timed.Where(l => l.Text.StartsWith("VP_PROGRESS ", StringComparison.Ordinal)).ToList();
        (progress[^1].Timestamp!.Value - progress[0].Timestamp!.Value).Should().BeGreaterThan(TimeSpan.FromSeconds(1), "epochs are 1 s apart");

        var since = progress[2].Timestamp!.Value;
        var recent = new List<TrainingLogLine>();
        await foreach (var line in executor.GetLogsAsync(run, new TrainingLogOptions { Since = since, Timestamps = true }))
        {
            recent.Add(line);
        }

        recent.Should().NotBeEmpty();
        recent.Should().OnlyContain(l => l.Timestamp >= since);
        recent.Select(l => l.Text).Should().Equal(timed.Where(l => l.Timestamp >= since).Select(l => l.Text));
        (await ReadLogAsync(executor, run, new TrainingLogOptions { Since = since, TailLines = 1 })).Should().Equal(all[^1]);
        (await ReadLogAsync(executor, run, new TrainingLogOptions { Since = DateTimeOffset.UtcNow.AddMinutes(5) })).Should().BeEmpty();
    }
}

/// <summary>Measures allocations process-wide, so it runs alone, after the parallel tests.</summary>
[CollectionDefinition(nameof(LargeLogCollection), DisableParallelization = true)]
public sealed class LargeLogCollection;

[Collection(nameof(LargeLogCollection))]
public sealed class SubprocessLargeLogTests : IAsyncLifetime
{
    private readonly SubprocessTestContext _ctx = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _ctx.DisposeAsync();

    [Fact]
    public async Task Tail_of_a_1_GB_log_is_correct_and_reads_only_the_end()
    {
        const long size = 1L << 30;
        var executor = _ctx.CreateExecutor();
        var builder = Job("job-1gb", epochs: 1);
        builder.Environment["VP_LOG_BYTES"] = size.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var run = await executor.StartAsync(builder.Build());
        var status = await WaitTerminalAsync(executor, run, TimeSpan.FromMinutes(3));
        status.Phase.Should().Be(TrainingPhase.Succeeded, status.Message);
        var log = Path.Combine(_ctx.RunDirectory(run), "train.log");
        new FileInfo(log).Length.Should().Be(size);

        try
        {
            GC.Collect();
            var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            var heapBefore = GC.GetTotalMemory(forceFullCollection: true);

            var tail = await ReadLogAsync(executor, run, new TrainingLogOptions { TailLines = 3 });

            var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
            var heapGrowth = GC.GetTotalMemory(forceFullCollection: true) - heapBefore;

            // train.py writes 100-byte lines "log line <n> xxx..." in blocks of 10486 lines; 2^30 bytes end with
            // line 10240 of the last block cut to 23 bytes.
            tail.Should().Equal(
                "log line 00010238 " + new string('x', 81),
                "log line 00010239 " + new string('x', 81),
                "log line 00010240 xxxxx");
            allocated.Should().BeLessThan(8 * 1024 * 1024, "tail reads backwards from the end in blocks");
            heapGrowth.Should().BeLessThan(4 * 1024 * 1024);
        }
        finally
        {
            File.Delete(log);
        }
    }
}
