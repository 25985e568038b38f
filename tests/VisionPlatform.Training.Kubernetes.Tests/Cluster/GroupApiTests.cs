using k8s;
using k8s.Models;

namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>What a distributed job's start sends to the API server (no components run: nothing is scheduled).</summary>
public sealed class GroupApiTests
{
    private static TrainingJobConfig Group(string jobId) =>
        Jobs.Config(jobId, TrainingFramework.PyTorch).Apply(b =>
        {
            b.Resources = new TrainingResources { Gpus = 2 };
            b.Distribution = new TrainingDistribution { Nodes = 2 };
        }).Build();

    [Fact]
    public async Task A_start_creates_the_job_then_its_service_owned_by_it_and_a_repeat_reuses_both()
    {
        await using var h = await ClusterHarness.StartAsync(apiServerOnly: true);

        var run = await h.Executor.StartAsync(Group("group-api"));
        var again = await h.Executor.StartAsync(Group("group-api"));

        again.Should().Be(run);
        var job = (await h.JobsAsync()).Should().ContainSingle().Subject;
        var service = (await h.Client.CoreV1.ListNamespacedServiceAsync("training")).Items.Should().ContainSingle().Subject;
        service.Metadata.Name.Should().Be(job.Metadata.Name);
        service.Metadata.OwnerReferences.Should().ContainSingle().Which.Uid.Should().Be(job.Metadata.Uid);
        var creates = h.Cluster.Requests.CountWhere(e => e.Request.Verb == "create" && e.Request.Resource is "jobs" or "services");
        creates.Should().Be(4, "each start tries the Job, then the Service (the repeat finds both)");
    }

    [Fact]
    public async Task A_stale_service_of_the_same_name_is_replaced_by_one_owned_by_the_new_job()
    {
        await using var h = await ClusterHarness.StartAsync(apiServerOnly: true);
        var name = KubernetesJobNames.GroupNameFromJobId("group-stale");
        await h.Client.CoreV1.CreateNamespacedServiceAsync(new V1Service { Metadata = new V1ObjectMeta { Name = name }, Spec = new V1ServiceSpec { ClusterIP = "None" } }, "training");

        await h.Executor.StartAsync(Group("group-stale"));

        var job = (await h.JobsAsync()).Single();
        var service = await h.Client.CoreV1.ReadNamespacedServiceAsync(name, "training");
        service.Metadata.OwnerReferences.Should().ContainSingle().Which.Uid.Should().Be(job.Metadata.Uid);
        service.Spec.PublishNotReadyAddresses.Should().BeTrue();
    }

    [Fact]
    public async Task A_group_with_a_long_job_id_is_found_by_its_job_id()
    {
        await using var h = await ClusterHarness.StartAsync(apiServerOnly: true);
        var jobId = "Nightly_Detector." + new string('x', 50);

        var run = await h.Executor.StartAsync(Group(jobId));

        KubernetesJobNames.GroupNameFromJobId(jobId).Should().NotBe(KubernetesJobNames.FromJobId(jobId));
        (await h.Executor.FindAsync(jobId)).Should().Be(run);
    }

    [Theory]
    [InlineData(false, -1)]
    [InlineData(false, 1)]
    [InlineData(true, 2)]
    public async Task A_node_rank_outside_the_run_is_a_validation_error_naming_NodeRank(bool group, int rank)
    {
        await using var h = await ClusterHarness.StartAsync(apiServerOnly: true);
        var run = await h.Executor.StartAsync(group ? Group("logs-group") : Jobs.Config("logs-single").Build());

        var read = async () =>
        {
            await foreach (var line in h.Executor.GetLogsAsync(run, new TrainingLogOptions { NodeRank = rank }))
            {
                _ = line;
            }
        };

        (await read.Should().ThrowAsync<TrainingValidationException>()).Which.Errors.Should().ContainSingle(e => e.Field == "NodeRank");
    }

    [Fact]
    public async Task Node_rank_0_of_a_job_of_one_pod_is_its_log()
    {
        await using var h = await ClusterHarness.StartAsync(apiServerOnly: true);
        var run = await h.Executor.StartAsync(Jobs.Config("logs-zero").Build());

        var lines = new List<TrainingLogLine>();
        await foreach (var line in h.Executor.GetLogsAsync(run, new TrainingLogOptions { NodeRank = 0 }))
        {
            lines.Add(line);
        }

        lines.Should().BeEmpty("no pod runs on an API server alone, and no error either");
    }
}
