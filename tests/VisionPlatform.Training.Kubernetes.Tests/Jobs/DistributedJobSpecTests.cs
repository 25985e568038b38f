namespace VisionPlatform.Training.Kubernetes.Tests;

/// <summary>How a distributed job renders: an Indexed Job under torchrun plus its headless Service, or Ultralytics' device list.</summary>
public sealed class DistributedJobSpecTests
{
    private static TrainingJobConfig Group(int nodes = 2, int? processes = 2, int gpus = 2, string jobId = "job-42") =>
        Jobs.Config(jobId, TrainingFramework.PyTorch).Apply(b =>
        {
            b.Resources = new TrainingResources { Gpus = gpus };
            b.Distribution = new TrainingDistribution { Nodes = nodes, ProcessesPerNode = processes };
        }).Build();

    [Fact]
    public void A_two_by_two_group_renders_an_indexed_job_under_torchrun_and_its_headless_service()
    {
        var config = Group();
        var builder = Jobs.Builder();
        var job = builder.Build(config);
        var service = TrainingJobSpecBuilder.BuildService(config, job);

        GoldenFile.Verify("distributed-2x2.yaml", TrainingJobSpecBuilder.ToYaml(job, builder.BuildConfigMap(config, job), service));
    }

    [Fact]
    public void The_group_has_one_pod_per_node_success_from_rank_0_and_one_failure_policy()
    {
        var config = Group(nodes: 3, processes: 1, gpus: 1);
        var job = Jobs.Builder(o => o.Job.BackoffLimit = 4).Build(config);

        job.Spec.CompletionMode.Should().Be("Indexed");
        job.Spec.Completions.Should().Be(3);
        job.Spec.Parallelism.Should().Be(3);
        job.Spec.BackoffLimit.Should().Be(0);
        job.Spec.PodReplacementPolicy.Should().Be("Failed");
        job.Spec.SuccessPolicy.Rules.Should().ContainSingle().Which.SucceededIndexes.Should().Be("0");
        job.Spec.PodFailurePolicy.Rules.Select(r => (r.Action, r.OnExitCodes?.OperatorProperty, r.OnPodConditions?.Single().Type)).Should().Equal(
            ("Ignore", null, "DisruptionTarget"), ("Ignore", "In", null), ("FailJob", "In", null), ("FailJob", "NotIn", null));
        job.Spec.PodFailurePolicy.Rules[1].OnExitCodes.Values.Should().Equal([75], "a pod that leaves for the whole-group restart is replaced, not failed");
        job.Spec.PodFailurePolicy.Rules[1].OnExitCodes.ContainerName.Should().Be("trainer");
        job.Spec.Template.Spec.Subdomain.Should().Be(job.Metadata.Name);

        var container = job.Spec.Template.Spec.Containers.Single();
        container.Command.Should().Equal("python", "-c", DistributionStep.GroupSupervisorProgram, "--", "python", "-m", "torch.distributed.run", "train.py");
        var env = container.Env.ToDictionary(e => e.Name);
        env["PET_NNODES"].Value.Should().Be("3");
        env["PET_NPROC_PER_NODE"].Value.Should().Be("1");
        env["PET_NODE_RANK"].ValueFrom.FieldRef.FieldPath.Should().Be("metadata.annotations['batch.kubernetes.io/job-completion-index']");
        env["PET_MASTER_ADDR"].Value.Should().Be("training-job-job-42-0.training-job-job-42");
        env["PET_MASTER_PORT"].Value.Should().Be("29500");
        env["PET_MAX_RESTARTS"].Value.Should().Be("4");
        env["PET_REDIRECTS"].Value.Should().Be("2");
        env["PET_TEE"].Value.Should().Be("2");
        env["VP_GROUP_CONTROL_PORT"].Value.Should().Be("29501", "the default is the rendezvous port + 1");
        env["VP_GROUP_STOP_SECONDS"].Value.Should().Be("22.5", "three quarters of the 30 s grace period");
    }

    [Fact]
    public void The_group_control_port_and_the_supervisors_stop_time_follow_the_options()
    {
        var job = Jobs.Builder(o =>
        {
            o.Job.RendezvousPort = 31_000;
            o.Job.GroupControlPort = 32_000;
            o.Job.TerminationGracePeriod = TimeSpan.FromSeconds(5);
        }).Build(Group());

        var env = job.Spec.Template.Spec.Containers.Single().Env.ToDictionary(e => e.Name);
        env["PET_MASTER_PORT"].Value.Should().Be("31000");
        env["VP_GROUP_CONTROL_PORT"].Value.Should().Be("32000");
        env["VP_GROUP_STOP_SECONDS"].Value.Should().Be("3.75");
        Jobs.Builder(o => o.Job.RendezvousPort = 31_000).Build(Group()).Spec.Template.Spec.Containers.Single().Env
            .Single(e => e.Name == "VP_GROUP_CONTROL_PORT").Value.Should().Be("31001");
    }

    [Fact]
    public void A_group_of_one_node_has_no_supervisor_and_no_restart_rule()
    {
        var job = Jobs.Builder().Build(Group(nodes: 1, processes: 2));

        var container = job.Spec.Template.Spec.Containers.Single();
        container.Command.Should().Equal("python", "-m", "torch.distributed.run", "train.py");
        container.Env.Should().NotContain(e => e.Name.StartsWith("VP_GROUP_", StringComparison.Ordinal));
        job.Spec.PodFailurePolicy.Rules.Select(r => (r.Action, r.OnExitCodes?.OperatorProperty)).Should().Equal(
            ("Ignore", null), ("FailJob", "In"), ("FailJob", "NotIn"));
    }

    [Fact]
    public void The_supervisor_is_a_constant_standard_library_program_that_python_compiles()
    {
        var program = DistributionStep.GroupSupervisorProgram;

        program.Should().StartWith("# VisionPlatform group supervisor").And.NotContain("\r");
        program.Should().NotContain("training-job", "no value is built into the program: everything comes through the environment");
        Jobs.Builder(o => o.Job.GroupControlPort = 40_000).Build(Group(jobId: "other")).Spec.Template.Spec.Containers[0].Command[2].Should().Be(program);
    }

    [Fact]
    public void Without_ignoring_disruptions_a_disruption_fails_the_group_like_any_other_failure()
    {
        var job = Jobs.Builder(o => o.Job.IgnoreDisruptions = false).Build(Group());

        job.Spec.PodFailurePolicy.Rules.Select(r => r.Action).Should().Equal(["FailJob", "FailJob"], "without the Ignore rules the group-restart exit code fails the Job too");
    }

    [Fact]
    public void The_service_is_headless_publishes_not_ready_addresses_and_selects_the_jobs_pods()
    {
        var config = Group();
        var job = Jobs.Builder().Build(config);
        var service = TrainingJobSpecBuilder.BuildService(config, job)!;

        service.Metadata.Name.Should().Be(job.Metadata.Name);
        service.Metadata.NamespaceProperty.Should().Be(job.Metadata.NamespaceProperty);
        service.Metadata.Labels.Should().Equal(job.Metadata.Labels);
        service.Spec.ClusterIP.Should().Be("None");
        service.Spec.PublishNotReadyAddresses.Should().BeTrue();
        service.Spec.Selector.Should().Equal(new Dictionary<string, string> { ["batch.kubernetes.io/job-name"] = job.Metadata.Name });
    }

    [Fact]
    public void A_long_job_id_gets_a_group_name_short_enough_for_every_pods_hostname()
    {
        var jobId = new string('a', 50) + "_Upper";
        var config = Group(nodes: 64, processes: 1, gpus: 1, jobId: jobId);
        var job = Jobs.Builder().Build(config);

        job.Metadata.Name.Should().Be(KubernetesJobNames.GroupNameFromJobId(jobId));
        job.Metadata.Name.Length.Should().BeLessThanOrEqualTo(KubernetesJobNames.MaxGroupNameLength);
        $"{job.Metadata.Name}-63".Length.Should().BeLessThanOrEqualTo(63);
        KubernetesJobNames.GroupNameFromJobId("short-id").Should().Be(KubernetesJobNames.FromJobId("short-id"));
        TrainingJobSpecBuilder.BuildService(config, job).Should().NotBeNull();
    }

    [Fact]
    public void A_hand_made_job_whose_hostnames_are_too_long_is_refused_locally()
    {
        var config = Group();
        var job = Jobs.Builder().Build(config);
        job.Metadata.Name = "training-job-" + new string('x', 49);

        var act = () => TrainingJobSpecBuilder.BuildService(config, job);

        act.Should().Throw<TrainingValidationException>().Which.Errors.Should().ContainSingle(e => e.Field == "metadata.name" && e.Rule.Contains("-1", StringComparison.Ordinal));
    }

    [Fact]
    public void A_command_that_does_not_start_with_python_is_refused_for_a_group()
    {
        var act = () => Jobs.Builder(o => o.Command = ["/app/run.sh"]).Build(Group());

        act.Should().Throw<TrainingValidationException>().Which.Errors.Should().ContainSingle(e => e.Field == "Command");
    }

    [Fact]
    public void Ultralytics_on_several_gpus_is_one_pod_with_a_device_list()
    {
        var config = Jobs.Config().Apply(b =>
        {
            b.Resources = new TrainingResources { Gpus = 4 };
            b.Distribution = TrainingDistribution.SingleNode;
        }).Build();
        var job = Jobs.Builder().Build(config);

        config.Launcher.Should().Be(TrainingLauncher.UltralyticsDevices);
        job.Spec.CompletionMode.Should().BeNull();
        job.Spec.Template.Spec.Subdomain.Should().BeNull();
        job.Spec.Template.Spec.Containers[0].Command.Should().Equal("python", "train.py");
        job.Spec.Template.Spec.Containers[0].Env.Should().ContainSingle(e => e.Name == "DEVICE").Which.Value.Should().Be("0,1,2,3");
        job.Spec.Template.Spec.Containers[0].Env.Should().ContainSingle(e => e.Name == "YOLO_CONFIG_DIR").Which.Value.Should().StartWith("/cache/");
        TrainingJobSpecBuilder.BuildService(config, job).Should().BeNull();
    }

    [Fact]
    public void A_job_of_one_process_renders_exactly_as_before_and_its_yaml_has_one_document()
    {
        var config = Jobs.Config().Build();
        var builder = Jobs.Builder();
        var job = builder.Build(config);

        TrainingJobSpecBuilder.BuildService(config, job).Should().BeNull();
        TrainingJobSpecBuilder.ToYaml(job, null, null).Should().Be(TrainingJobSpecBuilder.ToYaml(job));
        builder.BuildFromScratch(config).Should().BeEquivalentTo(job);
    }

    [Fact]
    public void Build_and_build_from_scratch_agree_for_a_group()
    {
        var builder = Jobs.Builder();

        builder.Build(Group()).Should().BeEquivalentTo(builder.BuildFromScratch(Group()));
    }
}
