using System.Diagnostics;
using VisionPlatform.Training.Tests.Subprocess;

namespace VisionPlatform.Training.Tests.Monitoring;

/// <summary>
/// The <c>VP_PROGRESS</c> line: what <see cref="TrainingProgressProtocol.Format"/> writes is what
/// <see cref="TrainingProgressProtocol.TryParse"/> reads, and a diverging metric (NaN, Infinity) costs only that metric.
/// </summary>
public sealed class ProgressProtocolTests
{
    [Fact]
    public void Format_leaves_out_NaN_and_infinite_metrics_and_keeps_the_others()
    {
        var line = TrainingProgressProtocol.Format(4, 10, 400, new Dictionary<string, double>
        {
            ["loss"] = double.NaN,
            ["accuracy"] = 0.81,
            ["grad_norm"] = double.PositiveInfinity,
            ["margin"] = double.NegativeInfinity,
        });

        line.Should().NotContain("NaN").And.NotContain("Infinity").And.NotContain("loss");
        TrainingProgressProtocol.TryParse(line, null, out var progress).Should().BeTrue(line);
        progress!.Epoch.Should().Be(4);
        progress.Step.Should().Be(400);
        progress.Metrics.Should().Equal(new Dictionary<string, double> { ["accuracy"] = 0.81 });
    }

    [Fact]
    public void Format_with_only_non_finite_metrics_writes_no_metrics()
    {
        var line = TrainingProgressProtocol.Format(1, 2, metrics: new Dictionary<string, double> { ["loss"] = double.NaN });

        line.Should().Be("VP_PROGRESS {\"epoch\":1,\"total_epochs\":2}");
        TrainingProgressProtocol.TryParse(line, null, out var progress).Should().BeTrue();
        progress!.Metrics.Should().BeEmpty();
    }

    [Theory]
    [InlineData(-1, null, null, "epoch")]
    [InlineData(1, 0, null, "totalEpochs")]
    [InlineData(1, -3, null, "totalEpochs")]
    [InlineData(1, 5, -1L, "step")]
    public void Format_rejects_what_TryParse_would_not_read_naming_the_parameter(int epoch, int? totalEpochs, long? step, string parameter)
    {
        var format = () => TrainingProgressProtocol.Format(epoch, totalEpochs, step);

        format.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be(parameter);
    }

    [Fact]
    public void Format_accepts_epoch_zero_which_TryParse_reads_back()
    {
        TrainingProgressProtocol.TryParse(TrainingProgressProtocol.Format(0, 1, 0), null, out var progress).Should().BeTrue();
        progress!.Epoch.Should().Be(0);
        progress.Step.Should().Be(0);
    }

    [Fact]
    public void A_line_with_bare_NaN_and_Infinity_tokens_is_read_without_those_metrics()
    {
        const string line = "VP_PROGRESS {\"epoch\": 3, \"total_epochs\": 10, \"step\": 300, " +
                            "\"metrics\": {\"loss\": NaN, \"accuracy\": 0.87, \"grad_norm\": Infinity, \"margin\": -Infinity}}";

        TrainingProgressProtocol.TryParse(line, null, out var progress).Should().BeTrue();

        progress!.Epoch.Should().Be(3);
        progress.TotalEpochs.Should().Be(10);
        progress.Step.Should().Be(300);
        progress.Metrics.Should().Equal(new Dictionary<string, double> { ["accuracy"] = 0.87 });
    }

    [Fact]
    public void The_tokens_inside_strings_are_left_alone()
    {
        const string line = "VP_PROGRESS {\"epoch\": 1, \"metrics\": {\"NaN\": 1.5, \"say \\\"Infinity\\\"\": 2.5, \"tag\": \"NaN\", \"loss\": NaN}}";

        TrainingProgressProtocol.TryParse(line, null, out var progress).Should().BeTrue();

        progress!.Metrics.Should().Equal(new Dictionary<string, double> { ["NaN"] = 1.5, ["say \"Infinity\""] = 2.5 });
    }

    [Theory]
    [InlineData("VP_PROGRESS {\"epoch\": NaN}")]
    [InlineData("VP_PROGRESS {\"epoch\": Infinity, \"metrics\": {\"loss\": 0.5}}")]
    [InlineData("VP_PROGRESS {\"epoch\": 1, \"metrics\": {\"loss\": NaNa}}")]
    [InlineData("VP_PROGRESS {\"epoch\": \"3\"}")]
    public void A_line_still_needs_a_valid_epoch_and_valid_json(string line) =>
        TrainingProgressProtocol.TryParse(line, null, out _).Should().BeFalse();

    [Fact]
    public void Non_numeric_or_non_finite_totals_and_steps_are_left_out_not_fatal()
    {
        const string line = "VP_PROGRESS {\"epoch\": 2, \"total_epochs\": NaN, \"step\": \"20\", \"metrics\": {\"loss\": 0.5}}";

        TrainingProgressProtocol.TryParse(line, null, out var progress).Should().BeTrue();

        progress!.Epoch.Should().Be(2);
        progress.TotalEpochs.Should().BeNull();
        progress.Step.Should().BeNull();
        progress.Metrics.Should().ContainKey("loss");
    }

    [Fact]
    public void A_line_written_by_Pythons_json_dumps_with_a_diverged_loss_is_read()
    {
        var python = new ProcessStartInfo(SubprocessTestContext.Python) { RedirectStandardOutput = true, UseShellExecute = false };
        python.ArgumentList.Add("-c");
        python.ArgumentList.Add(
            "import json; print('VP_PROGRESS ' + json.dumps({'epoch': 5, 'total_epochs': 8, 'step': 50, " +
            "'metrics': {'loss': float('nan'), 'val_loss': float('inf'), 'delta': float('-inf'), 'accuracy': 0.75}}))");
        using var process = Process.Start(python)!;
        var line = process.StandardOutput.ReadToEnd().TrimEnd('\r', '\n');
        process.WaitForExit(30_000).Should().BeTrue();

        line.Should().Contain("NaN").And.Contain("-Infinity", "this is how Python writes non-finite floats");
        TrainingProgressProtocol.TryParse(line, null, out var progress).Should().BeTrue(line);
        progress!.Epoch.Should().Be(5);
        progress.Metrics.Should().Equal(new Dictionary<string, double> { ["accuracy"] = 0.75 });
    }
}
