using System.Text.Json.Nodes;
using k8s;
using VisionPlatform.Training.Kubernetes.TestCluster.Workloads;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>
/// Issue 13, item 6: the Kubernetes executor's trust boundary, through its public API against the in-process test
/// cluster (real HTTP, real KubernetesClient).
/// </summary>
public class KubernetesTrustBoundaryTests
{
    [Fact]
    public async Task Listing_by_project_is_exact_although_two_projects_share_the_hashed_label_value()
    {
        await using var h = await ClusterHarness.StartAsync(apiServerOnly: true);
        const string hostile = "acme!";
        var lookalike = KubernetesJobNames.ToLabelValue(hostile); // "acme-<8 hex>": a valid label value, so its own label
        lookalike.Should().StartWith("acme-").And.NotBe(hostile);

        var theirs = await h.Executor.StartAsync(Jobs.Config("theirs-1").Apply(b => b.ProjectId = hostile).Build());
        var ours = await h.Executor.StartAsync(Jobs.Config("ours-1").Apply(b => b.ProjectId = lookalike).Build());
        (await h.JobsAsync()).Select(j => j.Metadata.Labels[KubernetesLabels.ProjectId]).Distinct().Should().ContainSingle("both Jobs carry the same project label value");

        foreach (var executor in new[] { h.Executor, h.NewExecutor() })
        {
            (await executor.ListAsync(new TrainingRunQuery { ProjectId = lookalike })).Select(s => s.JobId).Should().Equal([ours.JobId], "project '{0}' sees only its own runs", lookalike);
            (await executor.ListAsync(new TrainingRunQuery { ProjectId = hostile })).Select(s => s.JobId).Should().Equal([theirs.JobId]);
        }
    }

    [Fact]
    public async Task The_monitor_cache_lists_by_the_exact_project_too()
    {
        await using var host = await MonitorHost.StartAsync(image: ImageMapping.Simulated(TimeSpan.FromMinutes(10)));
        await host.WaitForSyncAsync();
        var lookalike = KubernetesJobNames.ToLabelValue("acme!");
        await host.Executor.StartAsync(Jobs.Config("theirs-2").Apply(b => b.ProjectId = "acme!").Build());
        await host.Executor.StartAsync(Jobs.Config("ours-2").Apply(b => b.ProjectId = lookalike).Build());
        await Eventually.GetAsync(() => host.Executor.ListAsync(), all => all.Count == 2, "both runs in the monitor's cache");
        host.Monitor.IsSynced.Should().BeTrue("the lists below come from the cache");

        (await host.Executor.ListAsync(new TrainingRunQuery { ProjectId = lookalike })).Select(s => s.JobId).Should().Equal(["ours-2"]);
        (await host.Executor.ListAsync(new TrainingRunQuery { ProjectId = "acme!" })).Select(s => s.JobId).Should().Equal(["theirs-2"]);
    }

    [Fact]
    public async Task A_repeat_start_with_another_per_job_image_is_a_JobConflict_not_the_old_run()
    {
        await using var h = await ClusterHarness.StartAsync(apiServerOnly: true);
        var config = Jobs.Config("image-1").Build();
        var first = await h.Executor.StartAsync(config, new KubernetesJobOptions { Image = "registry.example.com/vision/custom:1" });

        (await h.Executor.StartAsync(config, new KubernetesJobOptions { Image = "registry.example.com/vision/custom:1" })).Should().Be(first, "the same job and image is a repeat");
        var other = await FluentActions.Awaiting(() => h.Executor.StartAsync(config, new KubernetesJobOptions { Image = "registry.example.com/vision/evil:1" }))
            .Should().ThrowAsync<TrainingException>();
        other.Which.Code.Should().Be(TrainingErrorCode.JobConflict);
        other.Which.Message.Should().Contain("image");
        var withoutImage = await FluentActions.Awaiting(() => h.Executor.StartAsync(config)).Should().ThrowAsync<TrainingException>();
        withoutImage.Which.Code.Should().Be(TrainingErrorCode.JobConflict, "the default image is another image too");
        (await h.JobsAsync()).Single().Spec.Template.Spec.Containers[0].Image.Should().Be("registry.example.com/vision/custom:1");
    }

    [Fact]
    public async Task A_job_without_a_per_job_image_keeps_the_core_config_hash()
    {
        await using var h = await ClusterHarness.StartAsync(apiServerOnly: true);
        var config = Jobs.Config("image-2").Build();
        await h.Executor.StartAsync(config);

        (await h.JobsAsync()).Single().Metadata.Annotations[KubernetesLabels.ConfigHashAnnotation].Should().Be(config.ConfigHash, "Jobs created before stay matched");
    }

    [Theory]
    [InlineData("app")]
    [InlineData("name")]
    [InlineData("component")]
    [InlineData("tier")]
    [InlineData("role")]
    [InlineData("release")]
    [InlineData("instance")]
    [InlineData("app.kubernetes.io/part-of")]
    [InlineData("app.kubernetes.io/component")]
    [InlineData("kubernetes.io/metadata.name")]
    [InlineData("node-role.kubernetes.io/control-plane")]
    [InlineData("pod-security.kubernetes.io/enforce")]
    [InlineData("k8s.io/any")]
    [InlineData("x.k8s.io/any")]
    [InlineData("training.visionplatform.io/job-id")]
    [InlineData("sidecar.istio.io/inject")]
    [InlineData("linkerd.io/inject")]
    [InlineData("policies.kyverno.io/exempt")]
    [InlineData("admission.gatekeeper.sh/ignore")]
    [InlineData("job-name")]
    [InlineData("batch.kubernetes.io/controller-uid")]
    public async Task A_label_key_that_selectors_or_admission_could_match_is_refused_before_any_request(string key)
    {
        await using var h = await ClusterHarness.StartAsync(apiServerOnly: true);
        var config = Jobs.Config("labels-1").Apply(b => b.Labels[key] = "training").Build();
        h.Cluster.Requests.Clear();

        var refused = await FluentActions.Awaiting(() => h.Executor.StartAsync(config)).Should().ThrowAsync<TrainingValidationException>();

        refused.Which.Errors.Should().ContainSingle(e => e.Field == $"Labels[{key}]");
        refused.Which.Errors.Single().Rule.Should().MatchRegex("sets itself|refused", "the rule is named");
        h.Cluster.Requests.Count.Should().Be(0, "nothing reaches the cluster");
        FluentActions.Invoking(() => Jobs.Builder().Build(config)).Should().Throw<TrainingValidationException>();
    }

    [Theory]
    [InlineData("team")]
    [InlineData("version")]
    [InlineData("example.com/owner")]
    [InlineData("vision.example.com/cost-center")]
    public async Task A_label_key_of_the_callers_own_reaches_the_job_and_its_pods(string key)
    {
        await using var h = await ClusterHarness.StartAsync(apiServerOnly: true);
        await h.Executor.StartAsync(Jobs.Config("labels-2").Apply(b => b.Labels[key] = "vision").Build());

        var job = (await h.JobsAsync()).Single();
        job.Metadata.Labels[key].Should().Be("vision");
        job.Spec.Template.Metadata.Labels[key].Should().Be("vision");
    }

    [Fact]
    public async Task A_stop_with_a_short_grace_period_deletes_each_pod_with_its_uid_as_precondition()
    {
        const string image = "sim/long-running:1";
        // A trainer that ignores SIGTERM: its pod stays Terminating after the Job controller ends the Job, so the stop
        // always finds it to delete (with the shorter grace period). It says when the trap is in place: "Running" only
        // means the process was spawned, and a TERM that reaches the shell before its trap ends the pod at once (under
        // load the stop came first once, the pod was gone, and there was nothing to delete).
        await using var h = await WorkloadHarness.StartAsync(c => c.Workloads.Images[image] = ImageMapping.Command("/bin/sh", "-c", "trap '' TERM; echo trap-set; while :; do sleep 1; done"));
        var recorder = new DeleteRecorder();
        using var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = h.Cluster.Url.ToString().TrimEnd('/') }, recorder);
        var executor = new KubernetesTrainingExecutor(client, new TrainingJobSpecBuilder(h.Options, new VisionPlatform.Training.Trainers.FlagTrainerContract()));
        var run = await executor.StartAsync(WorkloadHarness.Trainer("grace-1").Build(), new KubernetesJobOptions { Image = image });
        await h.WaitForAsync(run, s => s.Phase == TrainingPhase.Running, "Running");
        await Eventually.GetAsync(
            async () => await h.Executor.GetLogsAsync(run).Select(l => l.Text).ToListAsync(),
            lines => lines.Contains("trap-set"),
            "the shell's TERM trap",
            TimeSpan.FromSeconds(60));
        var pod = (await h.PodsAsync()).Single();

        var stopped = await executor.StopAsync(run, new TrainingStopOptions { GracePeriod = TimeSpan.FromSeconds(1) });

        stopped.Phase.Should().Be(TrainingPhase.Stopped);
        recorder.Deletes.Should().NotContain(d => d.Path.EndsWith("/pods", StringComparison.Ordinal), "never a deletecollection by label selector");
        var delete = recorder.Deletes.Should().ContainSingle().Subject;
        delete.Path.Should().EndWith($"/pods/{pod.Metadata.Name}");
        var body = JsonNode.Parse(delete.Body)!;
        body["preconditions"]!["uid"]!.GetValue<string>().Should().Be(pod.Metadata.Uid);
        body["gracePeriodSeconds"]!.GetValue<long>().Should().Be(1);
        recorder.Deletes.Should().NotContain(d => d.Path.Contains("/jobs", StringComparison.Ordinal), "a stop never deletes the Job");
    }

    /// <summary>Records every DELETE the client sends (path and body).</summary>
    private sealed class DeleteRecorder : DelegatingHandler
    {
        public List<(string Path, string Body)> Deletes { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method == HttpMethod.Delete)
            {
                var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
                lock (Deletes)
                {
                    Deletes.Add((request.RequestUri!.AbsolutePath, body));
                }
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }
}
