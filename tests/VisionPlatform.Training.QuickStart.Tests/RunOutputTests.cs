namespace VisionPlatform.Training.QuickStart.Tests;

// Real runs: the demo trainer end to end, and the Kubernetes executor with no cluster or an unreachable one.
public sealed class RunOutputTests : IDisposable
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("vp-quickstart-tests-");

    // The probe's own answer ("cannot be reached: Connection refused (127.0.0.1:1)"), or, on a machine so loaded that its
    // retries outlast the probe timeout, the timeout's: either way one line that says why.
    private const string UnreachableReason = @"cannot be reached: Connection refused \(127\.0\.0\.1:1\)|the availability probe did not answer within";

    public void Dispose() => _work.Delete(recursive: true);

    // KUBECONFIG names the unreachable cluster; a generous probe timeout keeps the refused connection as the reason.
    private static Dictionary<string, string> Unreachable(string kubeconfig) => new()
    {
        ["KUBECONFIG"] = kubeconfig,
        ["Training__Availability__ProbeTimeout"] = "00:00:30",
    };

    [Fact]
    public async Task A_run_prints_each_phase_with_its_reason_its_progress_and_the_outcome_and_nothing_on_stderr()
    {
        var result = await QuickStartProcess.RunAsync(["--epochs", "2", "--output-dir", Path.Combine(_work.FullName, "runs")]);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Error.Should().BeEmpty(result.ToString());
        var lines = result.Output.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        lines[0].Should().StartWith("started job quickstart-").And.Contain(" on subprocess (operation id run1/subprocess/");
        lines.Should().Contain(l => l.StartsWith("phase: Pending (", StringComparison.Ordinal));
        lines.Should().Contain("phase: Running (Running)");
        lines.Should().Contain(l => l.StartsWith("phase: Succeeded (Completed)", StringComparison.Ordinal));
        lines.Should().Contain(l => l.StartsWith("[##########..........] epoch 1/2  loss ", StringComparison.Ordinal));
        lines.Should().Contain(l => l.StartsWith("[####################] epoch 2/2  loss ", StringComparison.Ordinal));
        lines.Should().NotContain(l => l.Contains("VP_PROGRESS", StringComparison.Ordinal), "progress lines are shown as bars, parsed by the SDK");
        lines.Should().Contain(l => l.StartsWith("  | Epoch 1/2", StringComparison.Ordinal));
        lines.Should().Contain(l => l.StartsWith("status: Succeeded (Completed, exit code 0) after ", StringComparison.Ordinal));

        var order = new[] { "phase: Pending", "phase: Running", "[####################] epoch 2/2", "phase: Succeeded", "status: Succeeded" }
            .Select(prefix => lines.FindIndex(l => l.StartsWith(prefix, StringComparison.Ordinal)))
            .ToArray();
        order.Should().BeInAscendingOrder("events are shown as they happen; output: " + result.Output);
    }

    [Fact]
    public async Task No_fallback_with_an_unreachable_cluster_is_exit_3_with_one_line_and_no_warnings()
    {
        var kubeconfig = QuickStartProcess.WriteUnreachableKubeconfig(_work);

        var result = await QuickStartProcess.RunAsync(["--executor", "kubernetes", "--no-fallback"], Unreachable(kubeconfig));

        result.ExitCode.Should().Be(3, result.ToString());
        result.Output.Should().BeEmpty();
        var line = result.ErrorLines.Should().ContainSingle(result.ToString()).Subject;
        line.Should().StartWith("error: the kubernetes executor is unavailable and --no-fallback was given: ");
        line.Should().MatchRegex(UnreachableReason);
        line.Should().NotStartWith("--executor", "the flag was right; the cluster is down");
        result.Error.Should().NotContain("warn:");
    }

    [Fact]
    public async Task Without_no_fallback_an_unreachable_cluster_is_one_fallback_line_and_the_run_succeeds_locally()
    {
        var kubeconfig = QuickStartProcess.WriteUnreachableKubeconfig(_work);

        var result = await QuickStartProcess.RunAsync(
            ["--executor", "kubernetes", "--epochs", "1", "--output-dir", Path.Combine(_work.FullName, "runs")],
            Unreachable(kubeconfig));

        result.ExitCode.Should().Be(0, result.ToString());
        result.ErrorLines.Should().ContainSingle(result.ToString()).Which.Should()
            .StartWith("fallback: running on subprocess instead of kubernetes: ").And.MatchRegex(UnreachableReason);
        result.Output.Should().Contain(" on subprocess (operation id ").And.Contain("phase: Succeeded (Completed)");
    }

    [Fact]
    public async Task No_fallback_with_no_cluster_configured_is_exit_3_with_one_line_saying_what_to_set()
    {
        var result = await QuickStartProcess.RunAsync(["--executor", "kubernetes", "--no-fallback"]);

        result.ExitCode.Should().Be(3, result.ToString());
        var line = result.ErrorLines.Should().ContainSingle(result.ToString()).Subject;
        line.Should().StartWith("error: the kubernetes executor is unavailable and --no-fallback was given: ").And.Contain("KUBECONFIG");
    }

    [Fact]
    public async Task Verbose_shows_the_sdk_s_retries_before_the_same_error_line()
    {
        var kubeconfig = QuickStartProcess.WriteUnreachableKubeconfig(_work);

        var result = await QuickStartProcess.RunAsync(["--executor", "kubernetes", "--no-fallback", "--verbose"], Unreachable(kubeconfig));

        result.ExitCode.Should().Be(3, result.ToString());
        result.Error.Should().Contain("warn: VisionPlatform.Training.Kubernetes").And.Contain("retry 1 in");
        // The console logger writes from its own queue and the monitor keeps retrying, so a log line may follow it.
        result.ErrorLines.Where(l => l.StartsWith("error: ", StringComparison.Ordinal)).Should().ContainSingle()
            .Which.Should().StartWith("error: the kubernetes executor is unavailable and --no-fallback was given: ");
    }
}
