namespace VisionPlatform.Training.QuickStart.Tests;

/// <summary><c>--queue</c>, <c>--priority-class</c> and <c>--pod-priority-class</c>: the Kubernetes dry run and the refusals.</summary>
public class KueueFlagsTests
{
    [Fact]
    public async Task A_queued_kubernetes_dry_run_shows_the_Kueue_labels_suspend_and_the_pod_priority_class()
    {
        var result = await QuickStartProcess.RunAsync(
            ["--executor", "kubernetes", "--dry-run", "--job-id", "queued-1", "--queue", "team-a", "--priority-class", "batch-high", "--pod-priority-class", "training-high"]);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Output.Should().StartWith("apiVersion: batch/v1\nkind: Job\n");
        result.Output.Should().Contain("    kueue.x-k8s.io/priority-class: batch-high\n    kueue.x-k8s.io/queue-name: team-a\n")
            .And.Contain("\n  suspend: true\n")
            .And.Contain("      priorityClassName: training-high\n");
        var template = result.Output[result.Output.IndexOf("  template:", StringComparison.Ordinal)..];
        template.Should().NotContain("kueue.x-k8s.io", "the queue labels go on the Job, not on its pods");
    }

    [Fact]
    public async Task A_dry_run_without_a_queue_is_not_suspended()
    {
        var result = await QuickStartProcess.RunAsync(["--executor", "kubernetes", "--dry-run", "--job-id", "plain-1"]);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Output.Should().NotContain("suspend:").And.NotContain("kueue.x-k8s.io").And.NotContain("priorityClassName");
    }

    [Theory]
    [InlineData("--queue", "Team_A", "--queue: 'Team_A' must be a lowercase RFC 1123 subdomain of at most 63 characters")]
    [InlineData("--priority-class", "-high", "--priority-class: '-high' must be a lowercase RFC 1123 subdomain of at most 63 characters")]
    [InlineData("--pod-priority-class", "High Priority", "--pod-priority-class: 'High Priority' must be a lowercase RFC 1123 subdomain")]
    public async Task A_bad_name_is_refused_naming_the_flag(string flag, string value, string message)
    {
        var result = await QuickStartProcess.RunAsync(["--executor", "kubernetes", "--dry-run", flag, value]);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Error.Should().Contain(message);
        result.Output.Should().BeEmpty();
    }

    [Fact]
    public async Task A_priority_class_without_a_queue_is_refused()
    {
        var result = await QuickStartProcess.RunAsync(["--executor", "kubernetes", "--dry-run", "--priority-class", "batch-high"]);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Error.Should().Contain("--priority-class: batch-high: a WorkloadPriorityClass applies only to a queued job; give --queue too");
    }

    [Fact]
    public async Task A_queue_on_the_subprocess_executor_is_refused()
    {
        var result = await QuickStartProcess.RunAsync(["--dry-run", "--queue", "team-a"]);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Error.Should().Contain("--queue: team-a: queues and priority classes are Kubernetes settings; use --executor kubernetes");
    }
}
