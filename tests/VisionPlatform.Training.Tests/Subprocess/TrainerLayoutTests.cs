using System.Diagnostics;
using System.Text.Json;
using VisionPlatform.Training.Storage;
using static VisionPlatform.Training.Tests.Subprocess.SubprocessTestContext;

namespace VisionPlatform.Training.Tests.Subprocess;

/// <summary>
/// The demo trainer (samples/trainer/train.py) writes the artifact layout of docs/storage.md: intermediate checkpoints
/// under <c>checkpoints/</c>, weights under <c>weights/</c>, and resumes from them.
/// </summary>
public sealed class TrainerLayoutTests : IAsyncLifetime
{
    private readonly SubprocessTestContext _ctx = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _ctx.DisposeAsync();

    [Fact]
    public async Task A_finished_run_writes_checkpoints_and_weights_into_the_documented_subfolders()
    {
        var executor = _ctx.CreateExecutor();
        var run = await executor.StartAsync(Job("job-layout", epochs: 3).Build());
        var status = await WaitTerminalAsync(executor, run, TimeSpan.FromSeconds(90));
        status.Phase.Should().Be(TrainingPhase.Succeeded, status.Message);

        var output = Path.Combine(_ctx.RunDirectory(run), "output");
        var files = Directory.EnumerateFiles(output, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(output, f).Replace(Path.DirectorySeparatorChar, '/'))
            .ToList();
        var checkpoints = ArtifactLayout.CheckpointsDirectory;
        var weights = ArtifactLayout.WeightsDirectory;
        files.Should().BeEquivalentTo(
            $"{checkpoints}checkpoint_epoch_1.json", $"{checkpoints}checkpoint_epoch_2.json", $"{checkpoints}checkpoint_epoch_3.json",
            $"{weights}last.json", $"{weights}best.json", ArtifactLayout.MetricsFile, "run.json");

        using var last = Read(output, $"{weights}last.json");
        last.RootElement.GetProperty("epoch").GetInt32().Should().Be(3);
        using var metrics = Read(output, ArtifactLayout.MetricsFile);
        var bestEpoch = metrics.RootElement.GetProperty("history").EnumerateArray()
            .MinBy(h => h.GetProperty("loss").GetDouble()).GetProperty("epoch").GetInt32();
        using var best = Read(output, $"{weights}best.json");
        best.RootElement.GetProperty("epoch").GetInt32().Should().Be(bestEpoch, "best.json holds the epoch with the lowest loss");
    }

    [Fact]
    public async Task A_stopped_run_can_be_resumed_from_its_weights_last_checkpoint()
    {
        var executor = _ctx.CreateExecutor();
        var first = await executor.StartAsync(Job("job-interrupted", epochs: 1000, new { epoch_seconds = 0.2 }).Build());
        var firstOutput = Path.Combine(_ctx.RunDirectory(first), "output");
        await PollAsync(() => File.Exists(Path.Combine(firstOutput, "checkpoints", "checkpoint_epoch_2.json")) ? "yes" : null, TimeSpan.FromSeconds(90), "two epochs");
        (await executor.StopAsync(first, new TrainingStopOptions { GracePeriod = TimeSpan.FromSeconds(20) })).ExitCode.Should().Be(143);
        var checkpoint = Path.Combine(firstOutput, "weights", "last.json");
        int saved;
        using (var doc = Read(firstOutput, "weights/last.json"))
        {
            saved = doc.RootElement.GetProperty("epoch").GetInt32();
        }

        saved.Should().BeGreaterThanOrEqualTo(2);

        var builder = Job("job-resumed", epochs: saved + 2);
        builder.CheckpointPath = checkpoint;
        builder.Resume = true;
        var second = await executor.StartAsync(builder.Build());
        var status = await WaitTerminalAsync(executor, second, TimeSpan.FromSeconds(90));

        status.Phase.Should().Be(TrainingPhase.Succeeded, status.Message);
        (await ReadLogAsync(executor, second)).Should().Contain(l => l.StartsWith($"resuming from {checkpoint} at epoch {saved + 1}", StringComparison.Ordinal));
        var secondOutput = Path.Combine(_ctx.RunDirectory(second), "output");
        using var metrics = Read(secondOutput, ArtifactLayout.MetricsFile);
        metrics.RootElement.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("epoch").GetInt32())
            .Should().Equal(Enumerable.Range(1, saved + 2), "the history of the first run is carried on");
        File.Exists(Path.Combine(secondOutput, "checkpoints", $"checkpoint_epoch_{saved + 1}.json")).Should().BeTrue();
        File.Exists(Path.Combine(secondOutput, "checkpoints", "checkpoint_epoch_1.json")).Should().BeFalse("epochs before the resume are not trained again");
    }

    [Fact]
    public async Task Resume_without_a_checkpoint_path_uses_weights_last_json_or_a_root_last_json_of_an_older_trainer()
    {
        var output = Path.Combine(_ctx.Root, "direct-output");
        (await RunTrainerAsync(output, "--epochs", "2")).Code.Should().Be(0);

        var resumed = await RunTrainerAsync(output, "--epochs", "3", "--resume");
        resumed.Code.Should().Be(0, resumed.Output);
        resumed.Output.Should().Contain($"resuming from {Path.Combine(output, "weights", "last.json")} at epoch 3");

        // An output directory written before the layout change has last.json at its root.
        File.Move(Path.Combine(output, "weights", "last.json"), Path.Combine(output, "last.json"));
        var legacy = await RunTrainerAsync(output, "--epochs", "4", "--resume");
        legacy.Code.Should().Be(0, legacy.Output);
        legacy.Output.Should().Contain($"resuming from {Path.Combine(output, "last.json")} at epoch 4");

        Directory.Delete(output, recursive: true);
        Directory.CreateDirectory(output);
        var none = await RunTrainerAsync(output, "--epochs", "1", "--resume");
        none.Code.Should().Be(2);
        none.Output.Should().Contain("--resume: needs --checkpoint_path (or a weights/last.json in --output_dir)");
    }

    private static JsonDocument Read(string directory, string relative) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, relative)));

    private static async Task<(int Code, string Output)> RunTrainerAsync(string output, params string[] args)
    {
        var start = new ProcessStartInfo(Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(TrainPy);
        foreach (var arg in new[] { "--job_id", "job-direct", "--output_dir", output }.Concat(args))
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}
