using System.Globalization;
using System.Text.Json;
using static VisionPlatform.Training.Tests.Subprocess.SubprocessTestContext;

namespace VisionPlatform.Training.Tests.Subprocess;

public sealed class SubprocessSchedulingTests : IAsyncLifetime
{
    private readonly SubprocessTestContext _ctx = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _ctx.DisposeAsync();

    [Fact]
    public async Task Fifty_simultaneous_starts_never_run_more_than_MaxConcurrentRuns_at_once_and_all_finish()
    {
        const int max = 3;
        var alive = Path.Combine(_ctx.Root, "alive");
        Directory.CreateDirectory(alive);
        var executor = _ctx.CreateExecutor(ProbePy, maxConcurrentRuns: max);

        var runs = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Task.Run(() =>
        {
            var job = Job($"job-{i:D2}");
            job.Environment["PROBE_ALIVE_DIR"] = alive;
            job.Environment["PROBE_SLEEP"] = "0.15";
            return executor.StartAsync(job.Build());
        })));

        var maxRunningSeen = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (true)
        {
            var statuses = await executor.ListAsync();
            maxRunningSeen = Math.Max(maxRunningSeen, statuses.Count(s => s.Phase == TrainingPhase.Running));
            if (statuses.All(s => s.IsTerminal))
            {
                break;
            }

            DateTime.UtcNow.Should().BeBefore(deadline, "all runs finish");
            await Task.Delay(20);
        }

        runs.Select(r => r.JobId).Should().OnlyHaveUniqueItems().And.HaveCount(50);
        var final = await executor.ListAsync();
        final.Should().HaveCount(50).And.OnlyContain(s => s.Phase == TrainingPhase.Succeeded);
        maxRunningSeen.Should().BeGreaterThan(0);

        // The executor's own record: at no instant did more than `max` runs lie between launch and recorded exit.
        var events = final.SelectMany(s => new[] { (Time: s.StartedAt!.Value, Delta: 1), (Time: s.FinishedAt!.Value, Delta: -1) })
            .OrderBy(e => e.Time).ThenBy(e => e.Delta);
        var overlap = 0;
        var maxOverlap = 0;
        foreach (var e in events)
        {
            overlap += e.Delta;
            maxOverlap = Math.Max(maxOverlap, overlap);
        }

        maxOverlap.Should().BeLessThanOrEqualTo(max, $"(a list snapshot, which is not atomic across runs, saw {maxRunningSeen})");
        var aliveCounts = new List<int>();
        foreach (var run in runs)
        {
            var line = (await ReadLogAsync(executor, run)).Single(l => l.StartsWith("alive=", StringComparison.Ordinal));
            aliveCounts.Add(int.Parse(line["alive=".Length..], CultureInfo.InvariantCulture));
        }

        aliveCounts.Max().Should().BeLessThanOrEqualTo(max, "no more than MaxConcurrentRuns trainer processes were ever alive together");
    }

    [Fact]
    public async Task GPUs_are_never_shared_and_a_run_waits_for_enough_free_GPUs()
    {
        var options = _ctx.NewOptions(ProbePy, maxConcurrentRuns: 10);
        options.Subprocess.Gpus.Add(0);
        options.Subprocess.Gpus.Add(1);
        options.Subprocess.Gpus.Add(2);
        var executor = _ctx.CreateExecutor(options);
        var first = Job("job-gpu-a");
        first.Resources = new TrainingResources { Gpus = 2 };
        first.Environment["PROBE_SLEEP"] = "2";
        var second = Job("job-gpu-b");
        second.Resources = new TrainingResources { Gpus = 2 };
        var cpu = Job("job-cpu");

        var a = await executor.StartAsync(first.Build());
        var b = await executor.StartAsync(second.Build());
        var c = await executor.StartAsync(cpu.Build());

        var waiting = await executor.GetStatusAsync(b);
        waiting.Phase.Should().Be(TrainingPhase.Pending);
        waiting.Reason.Should().Be(TrainingStatusReasons.WaitingForGpu);
        var aDone = await WaitTerminalAsync(executor, a);
        var bDone = await WaitTerminalAsync(executor, b);
        var cDone = await WaitTerminalAsync(executor, c);

        new[] { aDone, bDone, cDone }.Should().OnlyContain(s => s.Phase == TrainingPhase.Succeeded);
        bDone.StartedAt.Should().BeOnOrAfter(aDone.FinishedAt!.Value, "b needed two GPUs while a held two of three");
        cDone.StartedAt.Should().BeBefore(aDone.FinishedAt!.Value, "a CPU job does not wait for GPUs");
        (await CudaDevices(executor, a)).Should().Be("0,1");
        (await CudaDevices(executor, b)).Split(',').Should().HaveCount(2).And.OnlyHaveUniqueItems();
        (await CudaDevices(executor, c)).Should().Be("-1");
    }

    [Fact]
    public async Task A_job_asking_for_more_GPUs_than_the_host_has_fails_validation_before_anything_starts()
    {
        var options = _ctx.NewOptions(ProbePy);
        options.Subprocess.Gpus.Add(0);
        options.Subprocess.Gpus.Add(1);
        var executor = _ctx.CreateExecutor(options);
        var job = Job("job-too-many-gpus");
        job.Resources = new TrainingResources { Gpus = 3 };

        var start = () => executor.StartAsync(job.Build());

        var error = (await start.Should().ThrowAsync<TrainingValidationException>()).Which;
        error.Code.Should().Be(TrainingErrorCode.ValidationFailed);
        var field = error.Errors.Should().ContainSingle().Which;
        field.Field.Should().Be("Resources.Gpus");
        field.Value.Should().Be("3");
        field.Rule.Should().Contain("at most 2").And.Contain("Training:Subprocess:Gpus");
        Directory.Exists(_ctx.RunsDirectory).Should().BeFalse("nothing was created");
    }

    [Fact]
    public async Task Validation_reports_every_bad_field_of_a_job_and_of_a_stop_request()
    {
        var builder = Job("bad\u0001id");
        builder.Epochs = 0;
        builder.LearningRate = -1;
        builder.AdvancedConfig = "{not json";
        builder.Environment["CUDA_VISIBLE_DEVICES"] = "0";
        builder.Resources = new TrainingResources { Gpus = -1 };

        var build = () => builder.Build();

        build.Should().Throw<TrainingValidationException>().Which.Errors.Select(e => e.Field).Should().BeEquivalentTo(
            "JobId", "Epochs", "LearningRate", "AdvancedConfig", "Environment[CUDA_VISIBLE_DEVICES]", "Resources.Gpus");

        var executor = _ctx.CreateExecutor(ProbePy);
        var run = await executor.StartAsync(Job("job-stop-validation").Build());
        var stop = () => executor.StopAsync(run, new TrainingStopOptions { GracePeriod = TimeSpan.FromSeconds(-1) });
        (await stop.Should().ThrowAsync<TrainingValidationException>()).Which.Errors.Single().Field.Should().Be("GracePeriod");
    }

    [Fact]
    public async Task Starting_the_same_job_twice_returns_the_existing_run_and_a_different_config_is_a_conflict()
    {
        var launches = Path.Combine(_ctx.Root, "launches.txt");
        var executor = _ctx.CreateExecutor(ProbePy);
        var job = Job("job-once");
        job.Environment["PROBE_APPEND"] = launches;
        job.Environment["PROBE_SLEEP"] = "0.5";
        var config = job.Build();

        var first = await executor.StartAsync(config);
        var second = await executor.StartAsync(job.Build());
        await WaitTerminalAsync(executor, first);
        var third = await executor.StartAsync(config);

        second.Should().Be(first);
        third.Should().Be(first, "a finished run is still the job's run");
        (await File.ReadAllLinesAsync(launches)).Should().ContainSingle();

        var changed = config.ToBuilder();
        changed.Epochs = 99;
        var conflict = () => executor.StartAsync(changed.Build());
        var error = (await conflict.Should().ThrowAsync<TrainingException>()).Which;
        error.Code.Should().Be(TrainingErrorCode.JobConflict);
        error.Message.Should().Contain("'job-once'");
        error.JobId.Should().Be("job-once");
    }

    [Fact]
    public async Task Twenty_concurrent_starts_of_one_job_through_two_executors_start_one_process()
    {
        var launches = Path.Combine(_ctx.Root, "launches.txt");
        var a = _ctx.CreateExecutor(ProbePy);
        var b = _ctx.CreateExecutor(ProbePy);
        var job = Job("job-race; $(id)");
        job.Environment["PROBE_APPEND"] = launches;
        job.Environment["PROBE_SLEEP"] = "0.5";
        var config = job.Build();

        using var go = new ManualResetEventSlim();
        var starts = Enumerable.Range(0, 20).Select(i => Task.Run(async () =>
        {
            go.Wait();
            return await (i % 2 == 0 ? a : b).StartAsync(config);
        })).ToArray();
        go.Set();
        var runs = await Task.WhenAll(starts);

        runs.Distinct().Should().ContainSingle();
        await WaitTerminalAsync(a, runs[0]);
        (await WaitTerminalAsync(b, runs[0])).Phase.Should().Be(TrainingPhase.Succeeded);
        (await File.ReadAllLinesAsync(launches)).Should().ContainSingle("the job ran exactly once");
        Directory.EnumerateDirectories(_ctx.RunsDirectory).Should().ContainSingle();
    }

    private static async Task<string> CudaDevices(ITrainingExecutor executor, TrainingRun run)
    {
        var line = (await ReadLogAsync(executor, run)).Single(l => l.StartsWith("ENV ", StringComparison.Ordinal));
        return JsonDocument.Parse(line[4..]).RootElement.GetProperty("CUDA_VISIBLE_DEVICES").GetString()!;
    }
}
