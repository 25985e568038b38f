using k8s;
using Xunit.Abstractions;
using k8s.Models;
using VisionPlatform.Training.Kubernetes.TestCluster;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.QuickStart.Tests;

// Issue 17, item 6: against a cluster, the QuickStart shows what it waits for — every phase change with its reason and
// message as it happens (pulling, unschedulable, retrying), not only progress lines. The cluster is the test cluster,
// started in-process; the QuickStart runs as a user's process with a kubeconfig for it.
public sealed class ClusterPhaseTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Image = "trainer-ultralytics:latest";   // the QuickStart's default image for --framework ultralytics
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    private KubernetesTestCluster _cluster = null!;
    private int _attempts;

    public async Task InitializeAsync()
    {
        var options = new KubernetesTestClusterOptions();
        options.Namespaces.Add("training");
        // "trainer-retry:1" fails its first container and succeeds on the retry; every other image never pulls.
        options.Workloads.Images["trainer-retry:1"] = ImageMapping.Simulated(_ =>
            Interlocked.Increment(ref _attempts) == 1
                ? new SimulatedRun(TimeSpan.FromMilliseconds(200), ExitCode: 1) { Output = ["first attempt fails"] }
                : new SimulatedRun(TimeSpan.FromMilliseconds(200)) { Output = ["second attempt succeeds"] });
        _cluster = await KubernetesTestCluster.StartAsync(options);

        // The Secret and ConfigMap every Job references by default (values are irrelevant to a simulated trainer).
        using var api = _cluster.CreateClient();
        await api.CoreV1.CreateNamespacedSecretAsync(
            new V1Secret
            {
                Metadata = new V1ObjectMeta { Name = "r2-credentials" },
                StringData = new Dictionary<string, string> { ["endpoint"] = "http://127.0.0.1:1", ["access-key"] = "test", ["secret-key"] = "test" },
            },
            "training");
        await api.CoreV1.CreateNamespacedConfigMapAsync(
            new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "backend-config" }, Data = new Dictionary<string, string> { ["api-url"] = "http://127.0.0.1:1" } },
            "training");
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private Dictionary<string, string> Environment(string? image = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["KUBECONFIG"] = _cluster.WriteKubeconfig(),
            ["Training__Kubernetes__Namespace"] = "training",
            // The probe of a loaded machine (parallel tests, other builds) can outlast the 5 s default.
            ["Training__Availability__ProbeTimeout"] = "00:00:30",
        };
        if (image is not null)
        {
            environment["Training__Kubernetes__Image__Repository"] = image.Split(':')[0];
            environment["Training__Kubernetes__Image__Tag"] = image.Split(':')[1];
        }

        return environment;
    }

    [Fact]
    public async Task An_image_that_never_pulls_shows_each_pull_failure_with_the_kubelet_s_message_and_an_interrupt_stops_the_job()
    {
        await using var quickStart = RunningQuickStart.Start(["--executor", "kubernetes", "--no-fallback", "--epochs", "1"], Environment());

        var started = await quickStart.WaitForLineAsync(l => l.StartsWith("started job quickstart-", StringComparison.Ordinal), Wait, "the started line");
        var pull = await quickStart.WaitForLineAsync(
            l => l.StartsWith($"phase: Pending (ErrImagePull): Image {Image} cannot be pulled: ", StringComparison.Ordinal), Wait, "the pull failure");
        var backOff = await quickStart.WaitForLineAsync(
            l => l.StartsWith($"phase: Pending (ImagePullBackOff): Image {Image} cannot be pulled: ", StringComparison.Ordinal), Wait, "the pull back-off");
        // (Short-lived states in between, such as "Pending (Starting)", may be folded into the next change on a busy machine.)
        pull.Should().BeGreaterThan(started, quickStart.ToString());
        backOff.Should().BeGreaterThan(started);
        quickStart.Lines.Should().NotContain(l => l.StartsWith("status: ", StringComparison.Ordinal), "the run is still waiting for its image");

        var exitCode = await quickStart.InterruptAsync(Wait);

        exitCode.Should().NotBe(0, quickStart.ToString());
        quickStart.Lines.Should().Contain("interrupted: stopping the job ...");
        quickStart.Lines.Should().Contain(l => l.StartsWith("status: Stopped (StoppedByUser) after ", StringComparison.Ordinal), quickStart.ToString());
        output.WriteLine(quickStart.ToString());
    }

    [Fact]
    public async Task A_pod_no_node_can_take_shows_unschedulable_with_the_scheduler_s_message()
    {
        await using var quickStart = RunningQuickStart.Start(["--executor", "kubernetes", "--no-fallback", "--epochs", "1", "--gpus", "2"], Environment());

        var index = await quickStart.WaitForLineAsync(
            l => l.StartsWith("phase: Pending (Unschedulable): ", StringComparison.Ordinal), Wait, "the unschedulable phase");
        var line = quickStart.Lines[index];

        line.Should().StartWith("phase: Pending (Unschedulable): 0/1 nodes are available: ", "the scheduler's own message follows the reason");
        output.WriteLine(quickStart.ToString());
        await quickStart.InterruptAsync(Wait);
    }

    [Fact]
    public async Task A_retried_attempt_shows_the_first_attempt_s_log_then_the_new_attempt_before_the_run_succeeds()
    {
        await using var quickStart = RunningQuickStart.Start(["--executor", "kubernetes", "--no-fallback", "--epochs", "1"], Environment("trainer-retry:1"));

        var succeeded = await quickStart.WaitForLineAsync(l => l.StartsWith("status: Succeeded (Completed", StringComparison.Ordinal), Wait, "the final status");

        var lines = quickStart.Lines;
        var firstLog = lines.ToList().FindIndex(l => l == "  | first attempt fails");
        var retry = lines.ToList().FindIndex(l => l.StartsWith("phase: ", StringComparison.Ordinal) && l.Contains(", attempt 2)", StringComparison.Ordinal));
        var succeededPhase = lines.ToList().FindIndex(l => l.StartsWith("phase: Succeeded (Completed, attempt 2)", StringComparison.Ordinal));
        firstLog.Should().BeGreaterThan(-1, quickStart.ToString());
        retry.Should().BeGreaterThan(firstLog, "the new attempt is shown as it happens: " + quickStart);
        // The second attempt runs for 200 ms, often between two observations: its log is still shown, before its end.
        var secondLog = lines.ToList().FindIndex(l => l == "  | second attempt succeeds");
        secondLog.Should().BeGreaterThan(firstLog, quickStart.ToString());
        succeededPhase.Should().BeGreaterThan(secondLog, "the attempt's log comes before the run's final phase: " + quickStart);
        succeededPhase.Should().BeGreaterThanOrEqualTo(retry);
        succeeded.Should().BeGreaterThan(succeededPhase);
        output.WriteLine(quickStart.ToString());
    }
}
