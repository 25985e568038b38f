using System.Text.Json;
using static VisionPlatform.Training.Tests.Subprocess.SubprocessTestContext;

namespace VisionPlatform.Training.Tests.Subprocess.Monitoring;

/// <summary>The demo trainer's loss turns NaN (a diverging run): progress keeps coming, without the loss.</summary>
public sealed class DivergingTrainerTests : IAsyncLifetime
{
    private readonly SubprocessTestContext _ctx = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _ctx.DisposeAsync();

    [Fact]
    public async Task A_NaN_loss_is_left_out_of_the_progress_line_and_every_epochs_progress_still_arrives()
    {
        var executor = _ctx.CreateExecutor();

        var run = await executor.StartAsync(Job("job-diverging", epochs: 3, new { diverge_at_epoch = 2 }).Build());
        var status = await WaitTerminalAsync(executor, run, TimeSpan.FromSeconds(90));

        status.Phase.Should().Be(TrainingPhase.Succeeded, status.Message);
        status.Progress.Should().NotBeNull();
        status.Progress!.Epoch.Should().Be(3, "the lines after the loss diverged are progress lines too");
        status.Progress.Metrics.Should().ContainKey("accuracy").And.NotContainKey("loss");

        var runDirectory = Path.Combine(_ctx.RunsDirectory, run.ResourceId);
        var progressLines = (await File.ReadAllLinesAsync(Path.Combine(runDirectory, "train.log")))
            .Where(l => l.Contains(TrainingProgressProtocol.Prefix, StringComparison.Ordinal)).ToList();
        progressLines.Should().HaveCount(3).And.OnlyContain(l => !l.Contains("NaN", StringComparison.Ordinal));
        progressLines[0].Should().Contain("\"loss\"", "the first epoch's loss was still finite");

        // The files stay strict JSON: the diverged loss is null there.
        using var metrics = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(runDirectory, "output", "metrics.json")));
        metrics.RootElement.GetProperty("final").GetProperty("loss").ValueKind.Should().Be(JsonValueKind.Null);
        metrics.RootElement.GetProperty("history")[0].GetProperty("loss").ValueKind.Should().Be(JsonValueKind.Number);
    }

    [Fact]
    public async Task A_bad_diverge_knob_is_refused_as_bad_input()
    {
        var executor = _ctx.CreateExecutor();

        var run = await executor.StartAsync(Job("job-diverge-bad", epochs: 1, new { diverge_at_epoch = 0 }).Build());
        var status = await WaitTerminalAsync(executor, run, TimeSpan.FromSeconds(90));

        status.Phase.Should().Be(TrainingPhase.Failed);
        status.Reason.Should().Be(TrainingStatusReasons.InvalidTrainerInput);
        status.Message.Should().Contain("--diverge_at_epoch");
    }
}
