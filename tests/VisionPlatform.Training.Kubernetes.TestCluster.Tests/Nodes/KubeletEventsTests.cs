using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using VisionPlatform.Training.Kubernetes.TestCluster.Controllers;
using VisionPlatform.Training.Kubernetes.TestCluster.Nodes;
using VisionPlatform.Training.Kubernetes.TestCluster.Store;
using VisionPlatform.Training.Kubernetes.TestCluster.Tests.EndToEnd;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.TestCluster.Tests.Nodes;

/// <summary>
/// The Events a pod's life leaves, as kube-scheduler and the kubelet record them (reasons, types, wording, source,
/// the container's fieldPath), read through a KubernetesClient and through the build machine's kubectl.
/// </summary>
public sealed partial class KubeletEventsTests : IDisposable
{
    private const string Image = "busybox:1.36";
    private const string MissingImage = "registry.example/missing:1";
    private const string Ns = WorkloadCluster.Namespace;

    private readonly string _home = Directory.CreateTempSubdirectory("vp-kubectl-").FullName;

    public void Dispose() => Directory.Delete(_home, recursive: true);

    [Fact]
    public async Task A_pods_events_run_scheduled_pulling_pulled_created_started_then_killing_on_delete()
    {
        await using var env = await WorkloadCluster.StartAsync(o => o.Workloads.Images[Image] = ImageMapping.Passthrough);
        var pod = await env.Client.CoreV1.CreateNamespacedPodAsync(SleepingPod("ev-a", Image), Ns);
        await EventsAsync(env, "ev-a", list => list.Any(e => e.Reason == "Started"));
        var kubeconfig = env.Cluster.WriteKubeconfig();
        Task<string> Kubectl(params string[] arguments) => TestSupport.Kubectl.RunAsync(kubeconfig, _home, arguments);

        // kubectl describe reads the pod's events with its own field selector and prints them under Events:
        var described = EventRows(await Kubectl("describe", "pod", "ev-a", "-n", Ns));
        described.Select(r => r[1]).Should().Equal("Scheduled", "Pulling", "Pulled", "Created", "Started");
        described.Select(r => r[3]).Should().Equal("default-scheduler", "kubelet", "kubelet", "kubelet", "kubelet");
        described[0][4].Should().Be($"Successfully assigned {Ns}/ev-a to node-1");
        described[4][4].Should().Be("Started container main");

        await env.Client.CoreV1.DeleteNamespacedPodAsync("ev-a", Ns);
        var events = await EventsAsync(env, "ev-a", list => list.Any(e => e.Reason == "Killing"));

        events.Select(e => e.Reason).Should().Equal("Scheduled", "Pulling", "Pulled", "Created", "Started", "Killing");
        events.Select(e => e.Message).Should().SatisfyRespectively(
            m => m.Should().Be($"Successfully assigned {Ns}/ev-a to node-1"),
            m => m.Should().Be($"Pulling image \"{Image}\""),
            m => m.Should().MatchRegex($"^Successfully pulled image \"{Regex.Escape(Image)}\" in ([0-9.]+m?s) \\(\\1 including waiting\\)\\. Image size: 0 bytes\\.$"),
            m => m.Should().Be("Created container: main"),
            m => m.Should().Be("Started container main"),
            m => m.Should().Be("Stopping container main"));
        events.Should().AllSatisfy(e =>
        {
            e.Type.Should().Be("Normal");
            e.Count.Should().Be(1);
            e.FirstTimestamp.Should().NotBeNull().And.Be(e.LastTimestamp);
            e.InvolvedObject.Kind.Should().Be("Pod");
            e.InvolvedObject.NamespaceProperty.Should().Be(Ns);
            e.InvolvedObject.Name.Should().Be("ev-a");
            e.InvolvedObject.Uid.Should().Be(pod.Metadata.Uid);
        });
        var scheduled = events[0];
        scheduled.Source.Component.Should().Be("default-scheduler");
        scheduled.Source.Host.Should().BeNull();
        scheduled.ReportingComponent.Should().Be("default-scheduler");
        scheduled.InvolvedObject.FieldPath.Should().BeNull("scheduling is about the pod, not a container");
        events.Skip(1).Should().AllSatisfy(e =>
        {
            e.Source.Component.Should().Be("kubelet");
            e.Source.Host.Should().Be("node-1");
            e.ReportingComponent.Should().Be("kubelet");
            e.ReportingInstance.Should().Be("node-1");
            e.InvolvedObject.FieldPath.Should().Be("spec.containers{main}");
        });

        // kubectl get events prints the apiserver's Table for them
        var table = Rows(await Kubectl("get", "events", "-n", Ns, "--field-selector", "involvedObject.name=ev-a"));
        table[0].Should().Equal("LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE");
        table.Skip(1).Select(r => r[2]).Should().Equal("Scheduled", "Pulling", "Pulled", "Created", "Started", "Killing");
        table.Skip(1).Should().AllSatisfy(r => r[3].Should().Be("pod/ev-a"));
        table[^1][4].Should().Be("Stopping container main");

        // and the events.k8s.io/v1 view carries the same, renamed
        var mirrored = await Eventually(
            async () => (await env.Client.EventsV1.ListNamespacedEventAsync(Ns, fieldSelector: "regarding.name=ev-a,reason=Killing")).Items,
            items => items.Count == 1, "the mirrored Killing event");
        mirrored[0].Regarding.FieldPath.Should().Be("spec.containers{main}");
        mirrored[0].ReportingController.Should().Be("kubelet");
        mirrored[0].DeprecatedSource.Host.Should().Be("node-1");
        mirrored[0].Note.Should().Be("Stopping container main");
    }

    [Fact]
    public async Task IfNotPresent_pulls_an_image_once_per_node_and_Always_pulls_it_every_time()
    {
        await using var env = await WorkloadCluster.StartAsync(o => o.Workloads.Images[Image] = ImageMapping.Passthrough);
        await env.Client.CoreV1.CreateNamespacedPodAsync(SleepingPod("first", Image), Ns);
        var first = await EventsAsync(env, "first", list => list.Any(e => e.Reason == "Started"));
        first.Single(e => e.Reason == "Pulled").Message.Should().StartWith($"Successfully pulled image \"{Image}\" in ");

        await env.Client.CoreV1.CreateNamespacedPodAsync(SleepingPod("second", Image), Ns);
        var second = await EventsAsync(env, "second", list => list.Any(e => e.Reason == "Started"));
        second.Select(e => e.Reason).Should().Equal("Scheduled", "Pulled", "Created", "Started");
        second[1].Message.Should().Be($"Container image \"{Image}\" already present on machine");

        await env.Client.CoreV1.CreateNamespacedPodAsync(SleepingPod("always", Image, pullPolicy: "Always"), Ns);
        var always = await EventsAsync(env, "always", list => list.Any(e => e.Reason == "Started"));
        always.Select(e => e.Reason).Should().Equal("Scheduled", "Pulling", "Pulled", "Created", "Started");
        always[2].Message.Should().StartWith($"Successfully pulled image \"{Image}\" in ");
    }

    [Fact]
    public async Task An_image_the_cluster_cannot_pull_gives_the_pull_failure_and_back_off_events_which_aggregate_until_it_can()
    {
        await using var env = await WorkloadCluster.StartAsync();
        await env.Client.CoreV1.CreateNamespacedPodAsync(SleepingPod("nopull", MissingImage), Ns);

        // a second round of the pull loop: every event repeats on the same object (count), no new objects
        var events = await EventsAsync(env, "nopull", list =>
            list.Any(e => e.Reason == "BackOff" && e.Count >= 2) && list.Any(e => e.Reason == "Pulling" && e.Count >= 2));
        var pullError = $"rpc error: code = NotFound desc = failed to pull and unpack image \"{MissingImage}\": " +
            $"failed to resolve reference \"{MissingImage}\": {MissingImage}: not found";
        events.Select(e => (e.Type, e.Reason, e.Message)).Should().Equal(
            ("Normal", "Scheduled", $"Successfully assigned {Ns}/nopull to node-1"),
            ("Normal", "Pulling", $"Pulling image \"{MissingImage}\""),
            ("Warning", "Failed", $"Failed to pull image \"{MissingImage}\": {pullError}"),
            ("Warning", "Failed", "Error: ErrImagePull"),
            ("Normal", "BackOff", $"Back-off pulling image \"{MissingImage}\""),
            ("Warning", "Failed", "Error: ImagePullBackOff"));
        events.Skip(1).Should().AllSatisfy(e => e.InvolvedObject.FieldPath.Should().Be("spec.containers{main}"));
        events.Where(e => e.Count > 1).Should().AllSatisfy(e => e.LastTimestamp.Should().BeOnOrAfter(e.FirstTimestamp!.Value));
        var pod = await env.Client.CoreV1.ReadNamespacedPodAsync("nopull", Ns);
        pod.Status.ContainerStatuses.Single().State.Waiting.Reason.Should().BeOneOf("ErrImagePull", "ImagePullBackOff");

        // once the image can be pulled, the next round pulls it and starts the container
        env.Workloads.MapImage(MissingImage, ImageMapping.Passthrough);
        events = await EventsAsync(env, "nopull", list => list.Any(e => e.Reason == "Started"));
        events.Select(e => e.Reason).Should().EndWith(["Pulled", "Created", "Started"]);
        events.Single(e => e.Reason == "Pulled").Message.Should().StartWith($"Successfully pulled image \"{MissingImage}\" in ");
    }

    [Fact]
    public async Task A_missing_secret_is_a_failed_event_with_the_config_error_until_it_exists_then_the_container_starts()
    {
        await using var env = await WorkloadCluster.StartAsync(o => o.Workloads.Images[Image] = ImageMapping.Passthrough);
        var pod = SleepingPod("nosecret", Image);
        pod.Spec.Containers[0].Env =
        [
            new V1EnvVar { Name = "TOKEN", ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = "creds", Key = "token" } } },
        ];
        await env.Client.CoreV1.CreateNamespacedPodAsync(pod, Ns);

        var events = await EventsAsync(env, "nosecret", list => list.Any(e => e.Reason == "Failed"));
        var failed = events.Single(e => e.Reason == "Failed");
        (failed.Type, failed.Message, failed.InvolvedObject.FieldPath).Should().Be(("Warning", "Error: secret \"creds\" not found", "spec.containers{main}"));
        events.Should().NotContain(e => e.Reason == "Created", "the container cannot be created without its environment");

        await env.Client.CoreV1.CreateNamespacedSecretAsync(
            new V1Secret { Metadata = new V1ObjectMeta { Name = "creds" }, StringData = new Dictionary<string, string> { ["token"] = "t" } }, Ns);
        events = await EventsAsync(env, "nosecret", list => list.Any(e => e.Reason == "Started"));
        events.Select(e => e.Reason).Should().EndWith(["Created", "Started"]);
    }

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(0.9, "0s")]
    [InlineData(250.7, "250ms")]
    [InlineData(1500, "1.5s")]
    [InlineData(60_000, "1m0s")]
    [InlineData(123_042, "2m3.042s")]
    [InlineData(3_600_000, "1h0m0s")]
    public void Pull_durations_print_as_go_prints_a_duration_truncated_to_milliseconds(double milliseconds, string expected) =>
        KubeletEvents.GoDuration(TimeSpan.FromMilliseconds(milliseconds)).Should().Be(expected);

    [Fact]
    public void The_recorder_aggregates_repeats_but_remembers_only_its_most_recent_distinct_events()
    {
        var store = new ClusterStore();
        store.Create(ResourceType.Namespaces, null, new JsonObject { ["metadata"] = new JsonObject { ["name"] = "default" } });
        var pod = store.Create(ResourceType.Pods, "default", new JsonObject { ["metadata"] = new JsonObject { ["name"] = "p" } });
        var recorder = new EventRecorder(store, TimeProvider.System, "kubelet", "node-1", cacheSize: 2);

        recorder.Record(pod, "Normal", "A", "a");
        recorder.Record(pod, "Normal", "A", "a");
        recorder.Record(pod, "Normal", "B", "b");
        recorder.Record(pod, "Normal", "C", "c");
        recorder.Record(pod, "Normal", "C", "c");
        recorder.Record(pod, "Normal", "A", "a");

        var events = store.List(ResourceType.Events, "default").Items;
        Counts(events, "A").Should().BeEquivalentTo([2L, 1L], "A was forgotten after B and C, so its repeat starts a new Event");
        Counts(events, "C").Should().Equal(2L);
        Counts(events, "B").Should().Equal(1L);

        static List<long?> Counts(IEnumerable<JsonObject> events, string reason) =>
            events.Where(e => e.Str("reason") == reason).Select(e => e.Long("count")).ToList();
    }

    private static V1Pod SleepingPod(string name, string image, string? pullPolicy = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Spec = new V1PodSpec
        {
            RestartPolicy = "Never",
            TerminationGracePeriodSeconds = 5,
            Containers =
            [
                new V1Container { Name = "main", Image = image, ImagePullPolicy = pullPolicy, Command = ["/bin/sh", "-c", "exec sleep 60"] },
            ],
        },
    };

    /// <summary>The pod's Events in the order they were first recorded (their names end in the creation time, in hex).</summary>
    private static Task<List<Corev1Event>> EventsAsync(WorkloadCluster env, string pod, Func<List<Corev1Event>, bool> condition) =>
        Eventually(
            async () => (await env.Client.CoreV1.ListNamespacedEventAsync(Ns, fieldSelector: $"involvedObject.name={pod}")).Items
                .OrderBy(e => e.Metadata.Name, StringComparer.Ordinal).ToList(),
            condition, $"the events of {pod}");

    private static async Task<T> Eventually<T>(Func<Task<T>> read, Func<T, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var last = await read();
        while (!condition(last))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out waiting for {what}; last: {KubernetesJson.Serialize(last)}");
            }

            await Task.Delay(100);
            last = await read();
        }

        return last;
    }

    /// <summary>The rows under <c>Events:</c> in kubectl describe output: Type, Reason, Age, From, Message.</summary>
    private static List<string[]> EventRows(string describe)
    {
        var lines = describe.Split('\n');
        var start = Array.FindIndex(lines, l => l.StartsWith("Events:", StringComparison.Ordinal));
        start.Should().BeGreaterThanOrEqualTo(0, "describe prints an Events section: {0}", describe);
        return lines.Skip(start + 3).TakeWhile(l => l.StartsWith("  ", StringComparison.Ordinal))
            .Select(l => Columns().Split(l.Trim())).ToList();
    }

    private static List<string[]> Rows(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => Columns().Split(l.Trim())).ToList();

    [GeneratedRegex(@"\s{2,}")]
    private static partial Regex Columns();
}
